// Compose page: the files chosen in an <input type="file" data-attachment-list="ID">
// are listed in the element ID with their sizes and a Remove button each, so one can be
// dropped before sending. Choosing files again adds them to those already chosen.
// Texts come from the page (data-remove-label), rendered in the reader's language.
(function () {
  "use strict";
  var kept = new WeakMap();  // input -> the File objects chosen so far

  function size(bytes) {
    if (bytes < 1024) { return bytes + " B"; }
    if (bytes < 1024 * 1024) { return (bytes / 1024).toFixed(1) + " KB"; }
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  function setFiles(input, files) {
    var transfer = new DataTransfer();
    files.forEach(function (file) { transfer.items.add(file); });
    input.files = transfer.files;
    kept.set(input, files);
    render(input);
  }

  function render(input) {
    var list = document.getElementById(input.getAttribute("data-attachment-list"));
    if (!list) { return; }
    var label = input.getAttribute("data-remove-label") || "Remove";
    var files = Array.prototype.slice.call(input.files || []);
    list.textContent = "";
    files.forEach(function (file, index) {
      var item = document.createElement("li");
      var name = document.createElement("span");
      name.className = "attachment-name";
      name.textContent = file.name;
      var bytes = document.createElement("small");
      bytes.className = "muted";
      bytes.textContent = size(file.size);
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary outline attachment-remove";
      remove.textContent = label;
      remove.setAttribute("aria-label", label + ": " + file.name);
      remove.addEventListener("click", function () {
        setFiles(input, files.filter(function (_file, i) { return i !== index; }));
        var next = list.querySelector("button") || input;
        next.focus();
      });
      item.appendChild(name);
      item.appendChild(document.createTextNode(" "));
      item.appendChild(bytes);
      item.appendChild(document.createTextNode(" "));
      item.appendChild(remove);
      list.appendChild(item);
    });
  }

  function same(a, b) {
    return a.name === b.name && a.size === b.size && a.lastModified === b.lastModified;
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[type=file][data-attachment-list]")) { return; }
    var before = kept.get(input) || [];
    var chosen = Array.prototype.slice.call(input.files || []);
    var added = chosen.filter(function (file) {
      return !before.some(function (old) { return same(old, file); });
    });
    setFiles(input, before.concat(added));
  });
})();
