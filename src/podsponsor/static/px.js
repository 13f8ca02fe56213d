/* podsponsor conversion pixel. Sends a "view" when the page loads; on the order confirmation page,
   podsponsor('purchase', {value: '49.99', currency: 'USD', order_id: '1001'}) sends the purchase (or 'lead').
   Served as /px.js?s=<source token>: it reads its token and the pixel's address from its own URL. */
(function (w, d) {
  "use strict";
  var me = d.currentScript;
  var src = me && me.src;
  var found = src && /[?&]s=([A-Za-z0-9_-]{32})(?:&|$)/.exec(src);
  if (!found) { return; }
  var token = found[1];
  var endpoint = src.split("?")[0].replace(/\/px\.js$/, "/px");
  // The first page of the visit (in this tab): where a shopper from a podcast's vanity link landed, UTM tags and all.
  var landing = null;
  try {
    landing = w.sessionStorage.getItem("podsponsor_landing");
    if (!landing) {
      landing = w.location.href;
      w.sessionStorage.setItem("podsponsor_landing", landing);
    }
  } catch (e) {
    landing = null;
  }

  function text(value, max) { return String(value).slice(0, max); }

  function send(event, data) {
    data = data || {};
    var fields = {s: token, e: text(event, 20), u: text(w.location.href, 4096), r: text(d.referrer, 2048)};
    if (landing) { fields.l = text(landing, 4096); }
    if (data.value != null) { fields.v = text(data.value, 40); }
    if (data.currency != null) { fields.c = text(data.currency, 20); }
    if (data.order_id != null) { fields.o = text(data.order_id, 400); }
    try {
      // A string body is sent as text/plain: no CORS preflight, and the beacon survives the page unloading.
      if (w.navigator.sendBeacon && w.navigator.sendBeacon(endpoint, JSON.stringify(fields))) { return; }
    } catch (e) { /* fall back to the image */ }
    var query = [];
    for (var key in fields) {
      if (Object.prototype.hasOwnProperty.call(fields, key)) {
        query.push(key + "=" + encodeURIComponent(fields[key]));
      }
    }
    new w.Image(1, 1).src = endpoint + "?" + query.join("&");
  }

  var queued = (w.podsponsor && w.podsponsor.q) || [];
  w.podsponsor = function (event, data) { send(event, data); };
  send("view");
  for (var i = 0; i < queued.length; i++) { send(queued[i][0], queued[i][1]); }
})(window, document);
