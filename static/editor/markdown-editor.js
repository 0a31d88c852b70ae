// Markdown editor: progressive enhancement of <textarea data-markdown-editor>.
// A toolbar writes plain Markdown into the textarea (the form still posts the textarea, and works
// without this script); a live preview asks the server to render the text with the same sanitized
// renderer the pages use (meta tm-markdown-preview); pasted images are uploaded as attachments of
// the issue, test case or requirement when the page names where (data-upload-url or meta tm-attachment-upload).
(function () {
  "use strict";

  var PREVIEW_DELAY_MS = 300;

  function meta(name) {
    var element = document.querySelector('meta[name="' + name + '"]');
    return element ? element.getAttribute("content") : "";
  }

  function csrfToken(textarea) {
    var form = textarea.form;
    var input = (form && form.querySelector('input[name="csrfmiddlewaretoken"]')) ||
      document.querySelector('input[name="csrfmiddlewaretoken"]');
    if (input) return input.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // Each action changes the selection [start, end) of the textarea's value.
  function surround(marker, placeholder) {
    return function (value, start, end) {
      var selected = value.slice(start, end) || placeholder;
      return { text: marker + selected + marker, select: [marker.length, marker.length + selected.length] };
    };
  }

  function prefixLines(prefixFor, placeholder) {
    return function (value, start, end) {
      var lineStart = value.lastIndexOf("\n", start - 1) + 1;
      var selected = value.slice(lineStart, end) || placeholder;
      var lines = selected.split("\n").map(function (line, index) { return prefixFor(index) + line; });
      var text = lines.join("\n");
      return { text: text, replaceFrom: lineStart, select: [0, text.length] };
    };
  }

  function code(value, start, end) {
    var selected = value.slice(start, end) || "code";
    if (selected.indexOf("\n") === -1) return { text: "`" + selected + "`", select: [1, 1 + selected.length] };
    return { text: "```\n" + selected + "\n```", select: [4, 4 + selected.length] };
  }

  function link(value, start, end) {
    var selected = value.slice(start, end) || "text";
    var text = "[" + selected + "](https://)";
    return { text: text, select: [selected.length + 3, text.length - 1] };
  }

  function table(value, start) {
    var before = start > 0 && value[start - 1] !== "\n" ? "\n\n" : "";
    var text = before + "| Column | Column |\n| --- | --- |\n| Cell | Cell |\n";
    return { text: text, select: [before.length + 2, before.length + 8] };
  }

  var ACTIONS = [
    { name: "bold", label: "Bold", text: "B", key: "b", run: surround("**", "bold text") },
    { name: "italic", label: "Italic", text: "I", key: "i", run: surround("_", "italic text") },
    { name: "heading", label: "Heading", text: "H", run: prefixLines(function () { return "### "; }, "Heading") },
    { name: "bullets", label: "Bulleted list", text: "• List", run: prefixLines(function () { return "- "; }, "item") },
    {
      name: "numbers", label: "Numbered list", text: "1. List",
      run: prefixLines(function (index) { return (index + 1) + ". "; }, "item"),
    },
    { name: "code", label: "Code", text: "</>", run: code },
    { name: "table", label: "Table", text: "Table", run: table },
    { name: "link", label: "Link", text: "Link", key: "k", run: link },
  ];

  function apply(textarea, action) {
    var value = textarea.value, start = textarea.selectionStart, end = textarea.selectionEnd;
    var change = action.run(value, start, end);
    var from = change.replaceFrom === undefined ? start : change.replaceFrom;
    textarea.focus();
    textarea.setSelectionRange(from, end);
    // execCommand keeps the browser's undo history; setRangeText where it is refused.
    if (!document.execCommand || !document.execCommand("insertText", false, change.text)) {
      textarea.setRangeText(change.text, from, end, "end");
    }
    textarea.setSelectionRange(from + change.select[0], from + change.select[1]);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function insertAtCursor(textarea, text) {
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    textarea.setRangeText(text, start, end, "end");
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function toolbarFor(textarea) {
    var toolbar = document.createElement("div");
    toolbar.className = "md-toolbar";
    toolbar.setAttribute("role", "toolbar");
    toolbar.setAttribute("aria-label", "Formatting");
    toolbar.setAttribute("aria-controls", textarea.id);
    ACTIONS.forEach(function (action) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "md-button md-" + action.name;
      button.textContent = action.text;
      button.setAttribute("aria-label", action.label);
      button.title = action.label + (action.key ? " (Ctrl+" + action.key.toUpperCase() + ")" : "");
      button.addEventListener("click", function () { apply(textarea, action); });
      toolbar.appendChild(button);
    });
    return toolbar;
  }

  function previewFor(textarea, url) {
    var preview = document.createElement("div");
    preview.className = "prose md-preview";
    preview.id = textarea.id + "-preview";
    // A labelled region: aria-label is prohibited on a plain div (axe: aria-prohibited-attr).
    preview.setAttribute("role", "region");
    preview.setAttribute("aria-live", "polite");
    preview.setAttribute("aria-label", "Preview");
    var timer = null, sent = 0;
    function render() {
      var text = textarea.value;
      if (!text.trim()) {
        preview.innerHTML = '<p class="empty">Nothing to preview.</p>';
        return;
      }
      var mine = ++sent;
      var body = new URLSearchParams();
      body.set("text", text);
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(textarea) },
        body: body,
      }).then(function (response) {
        return response.text().then(function (html) { return { ok: response.ok, html: html }; });
      }).then(function (answer) {
        if (mine !== sent) return; // a newer text is on its way
        if (answer.ok) {
          preview.innerHTML = answer.html; // sanitized by the server (nh3)
        } else {
          preview.textContent = "The preview is not available: " + answer.html;
        }
      }).catch(function () {
        if (mine === sent) preview.textContent = "The preview is not available right now.";
      });
    }
    textarea.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(render, PREVIEW_DELAY_MS);
    });
    render();
    return preview;
  }

  function uploadPasted(textarea, files, status) {
    var url = textarea.getAttribute("data-upload-url") || meta("tm-attachment-upload");
    if (!url) {
      status.textContent = "Save first, then paste screenshots: they are stored as attachments of what you are writing.";
      return;
    }
    var form = new FormData();
    files.forEach(function (file, index) {
      var name = file.name && file.name !== "image.png" ? file.name : "screenshot-" + Date.now() + "-" + index + ".png";
      form.append("attachments", file, name);
    });
    status.textContent = "Uploading " + files.length + " file" + (files.length === 1 ? "" : "s") + "…";
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(textarea), Accept: "application/json" },
      body: form,
    }).then(function (response) {
      return response.json().then(function (answer) { return { ok: response.ok, answer: answer }; });
    }).then(function (result) {
      if (!result.ok) {
        status.textContent = result.answer.message || "The upload failed.";
        return;
      }
      var markdown = result.answer.attachments.map(function (item) { return item.markdown; }).join("\n");
      insertAtCursor(textarea, markdown);
      status.textContent = "Attached " + result.answer.attachments.map(function (item) { return item.name; }).join(", ") + ".";
    }).catch(function () {
      status.textContent = "The upload failed; nothing was attached.";
    });
  }

  function enhance(textarea, previewUrl) {
    if (textarea.dataset.markdownEnhanced) return;
    textarea.dataset.markdownEnhanced = "true";
    if (!textarea.id) textarea.id = "md-" + Math.random().toString(36).slice(2);
    var wrapper = document.createElement("div");
    wrapper.className = "md-editor";
    textarea.parentNode.insertBefore(wrapper, textarea);
    wrapper.appendChild(toolbarFor(textarea));
    wrapper.appendChild(textarea);
    var status = document.createElement("p");
    status.className = "md-status muted";
    status.setAttribute("role", "status");
    wrapper.appendChild(status);
    if (previewUrl) wrapper.appendChild(previewFor(textarea, previewUrl));
    textarea.addEventListener("keydown", function (event) {
      if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
      ACTIONS.forEach(function (action) {
        if (action.key && event.key.toLowerCase() === action.key) {
          event.preventDefault();
          apply(textarea, action);
        }
      });
    });
    textarea.addEventListener("paste", function (event) {
      var items = (event.clipboardData && event.clipboardData.files) || [];
      var files = Array.prototype.filter.call(items, function (file) { return file.type.indexOf("image/") === 0; });
      if (!files.length) return;
      event.preventDefault();
      uploadPasted(textarea, files, status);
    });
  }

  function start() {
    var previewUrl = meta("tm-markdown-preview");
    document.querySelectorAll("textarea[data-markdown-editor]").forEach(function (textarea) {
      enhance(textarea, previewUrl);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
