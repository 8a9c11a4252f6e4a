// Shows a readable message when an htmx request fails instead of silently doing nothing.
(function () {
  "use strict";
  function show(text) {
    var box = document.getElementById("htmx-error");
    if (!box) { return; }
    box.textContent = text;
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
    show(panel ? panel.textContent : "The request failed (" + xhr.status + "). Reload the page and try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    show("The portal could not be reached. Check your connection and try again.");
  });
})();
