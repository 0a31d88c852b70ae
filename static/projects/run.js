/* Executing a run from the keyboard or the mouse, without leaving the page.
 *
 * Each row's status buttons and its comment and duration save through the row's form endpoint
 * (data-save-url) with fetch, asking for JSON; the answer carries the run's new counts, which
 * update the badges and the progress bar. Without JavaScript the same forms post and redirect.
 * Saves go one after the other, so the counts shown are those of the last save.
 * Keys: j/k move, p/f/b/s/r set a status, c edits comment and duration, n goes to the next untested,
 * i opens "Create issue" of a failed or blocked row.
 */
(function () {
  "use strict";
  var table = document.getElementById("results");
  if (!table) return;
  var rows = Array.prototype.slice.call(table.querySelectorAll("tr[data-save-url]"));
  if (!rows.length) return;
  var KEYS = { p: "passed", f: "failed", b: "blocked", s: "skipped", r: "retest" };
  var live = document.getElementById("run-live");
  var csrf = (document.querySelector("#bulk-results input[name=csrfmiddlewaretoken]") || {}).value;
  var current = null;
  var queue = Promise.resolve();

  function announce(text) { if (live) live.textContent = text; }

  function setCurrent(row, focus) {
    if (current) current.classList.remove("current");
    current = row;
    row.classList.add("current");
    if (focus) row.focus();
  }

  function move(step) {
    var index = current ? rows.indexOf(current) + step : 0;
    if (index >= 0 && index < rows.length) setCurrent(rows[index], true);
  }

  function nextUntested() {
    var start = current ? rows.indexOf(current) : -1;
    for (var offset = 1; offset <= rows.length; offset++) {
      var row = rows[(start + offset) % rows.length];
      if (row.dataset.status === "untested") { setCurrent(row, true); return; }
    }
    announce("No untested result left on this page.");
  }

  function updateCounts(answer) {
    answer.counts.forEach(function (count) {
      var badge = document.querySelector("[data-status-count=" + count.status + "]");
      if (badge) badge.textContent = count.count + " " + badge.dataset.label;
    });
    var progress = answer.progress;
    var box = document.getElementById("run-progress");
    if (!box) return;
    ["tested", "total", "percent"].forEach(function (name) {
      box.querySelector("[data-progress=" + name + "]").textContent = progress[name];
    });
    var bar = box.querySelector(".progress-bar");
    bar.setAttribute("aria-valuenow", progress.percent);
    bar.textContent = "";
    progress.segments.forEach(function (segment) {
      var part = document.createElement("span");
      part.className = "segment status-" + segment.status;
      part.dataset.segment = segment.status;
      part.style.width = segment.share + "%";
      part.title = segment.count + " " + segment.label.toLowerCase();
      bar.appendChild(part);
    });
  }

  function showCreateIssue(row, status) {
    var cell = row.querySelector(".row-actions");
    var link = cell.querySelector("[data-role=create-issue]");
    var fileable = status === "failed" || status === "blocked";
    if (fileable && !link) {
      link = document.createElement("a");
      link.dataset.role = "create-issue";
      link.href = table.dataset.fileUrl + "?result=" + row.dataset.result;
      link.textContent = "Create issue";
      cell.appendChild(document.createTextNode(" "));
      cell.appendChild(link);
    } else if (!fileable && link) {
      link.remove();
    }
  }

  // A comment longer than the cell shows (data-comment-length, as the page renders it) is cut,
  // with the whole text on hover.
  function showComment(cell, text) {
    var length = parseInt(table.dataset.commentLength, 10);
    cell.textContent = "";
    if (text.length <= length) { cell.textContent = text; return; }
    var cut = document.createElement("span");
    cut.className = "shortened";
    cut.title = text;
    cut.textContent = text.slice(0, length - 1) + "…";
    cell.appendChild(cut);
  }

  function applyRow(row, answer) {
    row.dataset.status = answer.status;
    var badge = row.querySelector("[data-role=status]");
    badge.className = "badge status-" + answer.status;
    badge.textContent = answer.status_label;
    row.querySelectorAll(".status-button").forEach(function (button) {
      button.setAttribute("aria-pressed", button.value === answer.status ? "true" : "false");
    });
    row.dataset.comment = answer.comment;
    showComment(row.querySelector("[data-role=comment]"), answer.comment);
    row.querySelector("[data-role=duration]").textContent = answer.duration;
    showCreateIssue(row, answer.status);
    updateCounts(answer);
  }

  function save(row, fields) {
    var saved = queue.then(function () { return send(row, fields); });
    queue = saved.catch(function () {});
    return saved;
  }

  function send(row, fields) {
    var body = new URLSearchParams(fields);
    return fetch(row.dataset.saveUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrf },
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok) {
          var errors = answer.errors || {};
          var text = Object.keys(errors).map(function (name) {
            return name + ": " + errors[name].map(function (error) { return error.message; }).join(" ");
          }).join(" ") || "The result was not saved.";
          throw new Error(text);
        }
        applyRow(row, answer);
        announce("Saved " + row.dataset.title + ": " + answer.status_label + ".");
        return answer;
      });
    });
  }

  function setStatus(row, status) {
    save(row, { status: status }).catch(function (error) { announce(error.message); });
  }

  function openEditor(row) {
    var cell = row.querySelector("[data-role=comment]");
    if (row.querySelector(".inline-edit")) { row.querySelector(".inline-edit textarea").focus(); return; }
    var form = document.createElement("form");
    form.className = "inline-edit";
    var id = "edit-" + row.dataset.result;
    form.innerHTML =
      '<label for="' + id + '-comment">Comment</label><textarea id="' + id + '-comment" rows="2"></textarea>' +
      '<label for="' + id + '-duration">Duration</label><input id="' + id + '-duration" type="text" placeholder="1m 30s">' +
      '<p class="error" role="alert"></p>' +
      '<div><button type="submit">Save</button> <button type="button" class="secondary" data-cancel>Cancel</button></div>';
    var previous = row.dataset.comment;
    var comment = form.querySelector("textarea");
    var duration = form.querySelector("input");
    comment.value = row.dataset.comment;
    duration.value = row.querySelector("[data-role=duration]").textContent.trim();
    cell.textContent = "";
    cell.appendChild(form);
    function close(text) { showComment(cell, text); setCurrent(row, true); }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      save(row, { comment: comment.value, duration: duration.value }).then(function (answer) {
        close(answer.comment);
      }).catch(function (error) { form.querySelector(".error").textContent = error.message; });
    });
    form.querySelector("[data-cancel]").addEventListener("click", function () { close(previous); });
    form.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { event.preventDefault(); close(previous); }
      if (event.key === "Enter" && event.target === comment && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
    });
    comment.focus();
  }

  rows.forEach(function (row) {
    row.querySelectorAll(".status-buttons").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        setCurrent(row, false);
        setStatus(row, event.submitter ? event.submitter.value : "");
      });
    });
    var edit = row.querySelector(".edit-row");
    if (edit) {
      edit.hidden = false;
      edit.addEventListener("click", function () { setCurrent(row, false); openEditor(row); });
    }
    row.addEventListener("focusin", function () { if (current !== row) setCurrent(row, false); });
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    var key = event.key;
    if (key === "j") { event.preventDefault(); move(1); }
    else if (key === "k") { event.preventDefault(); move(-1); }
    else if (key === "n") { event.preventDefault(); nextUntested(); }
    else if (!current) { return; }
    else if (KEYS[key]) { event.preventDefault(); setStatus(current, KEYS[key]); }
    else if (key === "c") { event.preventDefault(); openEditor(current); }
    else if (key === "i") {
      var link = current.querySelector("[data-role=create-issue]");
      if (link) { event.preventDefault(); link.click(); }
    }
  });
})();
