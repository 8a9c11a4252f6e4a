// Shows a readable message when an htmx request fails instead of silently doing nothing.
// The wording comes from <body data-msg-failed / data-msg-offline> (rendered in the
// reader's language by base.html); English is the fallback.
(function () {
  "use strict";
  function text(name, fallback) {
    var value = document.body && document.body.getAttribute(name);
    return value || fallback;
  }
  function show(message) {
    var box = document.getElementById("htmx-error");
    if (!box) { return; }
    box.textContent = message;
    box.hidden = false;
  }
  function hide() {
    var box = document.getElementById("htmx-error");
    if (box) { box.hidden = true; box.textContent = ""; }
  }
  document.addEventListener("htmx:beforeRequest", hide);
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var panel = doc.querySelector(".error-panel p");
    var failed = text("data-msg-failed",
      "The request failed ({status}). Reload the page and try again.");
    show(panel ? panel.textContent : failed.replace("{status}", String(xhr.status)));
  });
  document.addEventListener("htmx:sendError", function () {
    show(text("data-msg-offline",
      "The portal could not be reached. Check your connection and try again."));
  });
})();

// Sender form: shows only the fields of the chosen authentication method (password or
// OAuth2), provider and sign-in. Elements carry data-show-when="select_name=value|value";
// without script every field stays visible.
(function () {
  "use strict";
  function sync() {
    var parts, select, i, items = document.querySelectorAll("[data-show-when]");
    for (i = 0; i < items.length; i += 1) {
      parts = items[i].getAttribute("data-show-when").split("=");
      select = document.querySelector("select[name='" + parts[0] + "']");
      if (select) { items[i].hidden = parts[1].split("|").indexOf(select.value) < 0; }
    }
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select")) { sync(); }
  });
  document.addEventListener("DOMContentLoaded", sync);
  document.addEventListener("htmx:afterSettle", sync);
})();
