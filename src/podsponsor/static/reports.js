// The report page's copy button: copies the share link shown once. The button stays hidden where script does not
// run (the link can still be selected and copied by hand), and says whether the copy worked.

function copyFrom(button) {
  const field = document.getElementById(button.dataset.copy);
  const status = button.parentElement.querySelector("[data-copy-status]");
  const done = (message) => {
    if (status) status.textContent = message;
  };
  field.select();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(
      () => done("Copied."),
      () => done("Select the link and copy it by hand."),
    );
  } else {
    // Plain-HTTP pages have no clipboard API; the selection made above can still be copied.
    done(document.execCommand("copy") ? "Copied." : "Select the link and copy it by hand.");
  }
}

for (const button of document.querySelectorAll("button[data-copy]")) {
  button.hidden = false;
  button.addEventListener("click", () => copyFrom(button));
}
