// Progressive enhancement for the report form: the form works without this file.
// A second click while the first submit is on its way is ignored (the server also
// de-duplicates by the form's submission key).
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form.report-form");
  if (!form) return;
  form.addEventListener("submit", function (event) {
    if (form.dataset.sending === "yes") {
      event.preventDefault();
      return;
    }
    form.dataset.sending = "yes";
    var button = form.querySelector("button[type=submit]");
    if (button) button.textContent = "Sending…";
  });
});
