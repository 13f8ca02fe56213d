// Draws each chart figure of templates/reports/chart.html from the Vega-Lite spec in its JSON block, with the
// vendored vega-embed (static/vendor/vega-charts.js, loaded before this module). Runs under the pages' content
// security policy: expressions are interpreted, not compiled with eval, and no <style> element is injected
// (charts.css holds the styles vega-embed and its tooltip would otherwise add).

const OPTIONS = {
  actions: false,
  renderer: "svg",
  ast: true,
  defaultStyle: false,
  tooltip: { disableDefaultStyle: true, theme: "podsponsor" },
};

async function draw(figure) {
  if (figure.dataset.chartState) return;
  figure.dataset.chartState = "drawing";
  const view = figure.querySelector("[data-chart-view]");
  const fallback = [...view.childNodes];
  try {
    const spec = JSON.parse(figure.querySelector("script[type='application/json']").textContent);
    // The page's column sets the width; PDFs keep the width the spec was built with.
    spec.width = "container";
    view.replaceChildren();
    await window.vegaEmbed(view, spec, OPTIONS);
    figure.dataset.chartState = "drawn";
  } catch (error) {
    view.replaceChildren(...fallback);
    figure.dataset.chartState = "failed";
    console.error(`chart ${figure.id} could not be drawn`, error);
  }
}

function drawAll(root) {
  for (const figure of root.querySelectorAll("figure[data-chart]")) draw(figure);
}

drawAll(document);
// Charts inside fragments that htmx swaps in (period switches, filters) are drawn as they arrive.
document.addEventListener("htmx:load", (event) => drawAll(event.detail.elt));
