// Copy buttons: <button type="button" data-copy="INPUT-ID" data-copy-status="STATUS-ID">.
// Copies the input's value with the Clipboard API; where that is unavailable or refused,
// selects the text so Ctrl+C copies it. The result is announced in the status element
// (an aria-live region); its wording comes from the button's data-copied /
// data-copy-select if given, else from <body data-msg-copied / data-msg-copy-select>
// (base.html, in the reader's language), else English.
(function () {
  "use strict";
  function wording(button, name, bodyName, fallback) {
    return button.getAttribute(name) ||
      (document.body && document.body.getAttribute(bodyName)) || fallback;
  }
  function announce(button, ok) {
    var status = document.getElementById(button.getAttribute("data-copy-status"));
    if (!status) { return; }
    status.textContent = "";  // a repeated message must still be announced
    window.setTimeout(function () {
      status.textContent = ok ? wording(button, "data-copied", "data-msg-copied", "Copied")
        : wording(button, "data-copy-select", "data-msg-copy-select",
                  "Selected: press Ctrl+C to copy");
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
