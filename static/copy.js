// Copy buttons: <button type="button" data-copy="INPUT-ID" data-copy-status="STATUS-ID">.
// Copies the input's value with the Clipboard API; where that is unavailable or refused,
// selects the text so Ctrl+C copies it. The result is announced in the status element
// (an aria-live region); its wording comes from data-copied / data-copy-select if given.
(function () {
  "use strict";
  function announce(button, ok) {
    var status = document.getElementById(button.getAttribute("data-copy-status"));
    if (!status) { return; }
    status.textContent = "";  // a repeated message must still be announced
    window.setTimeout(function () {
      status.textContent = ok ? (button.getAttribute("data-copied") || "Copied")
        : (button.getAttribute("data-copy-select") || "Selected: press Ctrl+C to copy");
    }, 50);
  }
  function selectText(button, input) {
    input.focus();
    input.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (ignored) { ok = false; }
    announce(button, ok);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (!input) { return; }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(
        function () { announce(button, true); },
        function () { selectText(button, input); });
    } else {
      selectText(button, input);
    }
  });
})();
