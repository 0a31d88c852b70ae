/* Pickers for connecting a tracker to a project: each text input marked data-pick="<kind>" (projects,
   boards, issue_types, ...) becomes a searchable list read from the tracker as the admin picks the
   source and then the external project. The text input stays the field that is submitted (hidden while
   the list is shown), so the form works the same without JavaScript; when the tracker will not list
   (no permission, no such thing, down) the input stays visible with the tracker's reason next to it.

   The form (or, in the Django admin, each marked input) carries data-options-url (the tracker-options
   endpoint) and either a source select (name="source") or data-source (the integration's source); in
   the admin, the project select (name="project") or data-at gives the project's id as "at". */
(function () {
  "use strict";

  const NEEDS_PROJECT = new Set(["boards", "issue_types", "fields", "components", "sprints"]);

  function start() {
    const first = document.querySelector("input[data-pick]");
    const form = first ? first.form : null;
    const optionsUrl = form ? form.dataset.optionsUrl || first.dataset.optionsUrl : "";
    if (!optionsUrl) {
      return;
    }
    const sourceSelect = form.querySelector("select[name=source]");
    const projectSelect = form.querySelector("select[name=project]");
    const pickers = Array.from(form.querySelectorAll("input[data-pick]")).map(makePicker);
    const projectPicker = pickers.find((picker) => picker.kind === "projects");

    function sourceId() {
      return sourceSelect ? sourceSelect.value : form.dataset.source || first.dataset.source || "";
    }

    function externalProject() {
      return projectPicker ? projectPicker.input.value.trim() : first.dataset.project || "";
    }

    function makePicker(input) {
      const label = form.querySelector('label[for="' + input.id + '"]');
      const search = document.createElement("input");
      search.type = "search";
      search.id = input.id + "_search";
      search.placeholder = "Search…";
      search.setAttribute("aria-label", "Search " + (label ? label.textContent.replace(/:$/, "") : input.name));
      search.hidden = true;
      const select = document.createElement("select");
      select.id = input.id + "_choice";
      select.hidden = true;
      const note = document.createElement("span");
      note.className = "picker-note";
      note.id = input.id + "_note";
      note.setAttribute("aria-live", "polite");
      input.after(search, select, note);
      const picker = { input, search, select, note, label, kind: input.dataset.pick, truncated: false, request: 0 };
      select.multiple = "pickMultiple" in input.dataset;
      select.addEventListener("change", () => {
        input.value = select.multiple
          ? Array.from(select.selectedOptions, (option) => option.value).join(", ")
          : select.value;
        if (picker.kind === "projects") {
          pickers.filter((other) => other !== picker).forEach((other) => load(other));
        }
      });
      search.addEventListener("input", () => filter(picker));
      return picker;
    }

    function showText(picker, reason) {
      picker.input.hidden = false;
      picker.select.hidden = true;
      picker.search.hidden = true;
      if (picker.label) {
        picker.label.htmlFor = picker.input.id;
      }
      picker.note.textContent = reason;
    }

    function showList(picker, body) {
      // A multiple picker's text input holds a comma-separated list of values.
      const current = picker.select.multiple
        ? picker.input.value.split(",").map((value) => value.trim()).filter(Boolean)
        : [picker.input.value.trim()].filter(Boolean);
      const empty = picker.kind === "projects" ? "— choose —" : "— none —";
      const options = (picker.select.multiple ? [] : [{ value: "", label: empty }]).concat(body.options);
      current
        .filter((value) => !body.options.some((option) => option.value === value))
        .forEach((value) => options.push({ value, label: value + " (not offered by the tracker)" }));
      picker.select.replaceChildren(
        ...options.map((option) => {
          const element = document.createElement("option");
          element.value = option.value;
          element.textContent = option.label;
          element.selected = current.includes(option.value);
          return element;
        }),
      );
      if (picker.select.multiple) {
        picker.select.size = Math.min(Math.max(options.length, 2), 8);
      }
      picker.truncated = body.truncated;
      picker.input.hidden = true;
      picker.select.hidden = false;
      picker.search.hidden = body.options.length < 8 && !body.truncated;
      if (picker.label) {
        picker.label.htmlFor = picker.select.id;
      }
      const count = body.options.length + (body.truncated ? "+" : "");
      picker.note.textContent = count + " read from the tracker" + (body.truncated ? "; search to narrow them down." : ".");
    }

    function filter(picker) {
      const wanted = picker.search.value.trim().toLowerCase();
      if (picker.truncated) {
        load(picker, wanted);
        return;
      }
      Array.from(picker.select.options).forEach((option) => {
        option.hidden = Boolean(wanted) && option.value !== "" && !option.textContent.toLowerCase().includes(wanted);
      });
    }

    function load(picker, query) {
      const source = sourceId();
      if (!source) {
        showText(picker, "");
        return;
      }
      if (projectSelect && !projectSelect.value) {
        showText(picker, "Choose the project first to list these.");
        return;
      }
      if (NEEDS_PROJECT.has(picker.kind) && !externalProject()) {
        showText(picker, "Choose the external project first to list these.");
        return;
      }
      const params = new URLSearchParams({ source, kind: picker.kind });
      if (NEEDS_PROJECT.has(picker.kind)) {
        params.set("project", externalProject());
      }
      if (picker.input.dataset.issueType) {
        params.set("issue_type", picker.input.dataset.issueType);
      }
      if (query) {
        params.set("q", query);
      }
      const at = projectSelect ? projectSelect.value : first.dataset.at;
      if (at) {
        params.set("at", at);
      }
      const number = ++picker.request;
      picker.note.textContent = "Loading the list from the tracker…";
      fetch(optionsUrl + "?" + params.toString(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then((response) => response.json().then((body) => ({ ok: response.ok, status: response.status, body })))
        .then(({ ok, status, body }) => {
          if (number !== picker.request) {
            return; // an answer to an older question
          }
          if (!ok) {
            showText(picker, "The list could not be loaded (" + (body.message || "HTTP " + status) + "): type the value.");
          } else if (!body.listable) {
            showText(picker, "The tracker gave no list, so type the value. " + body.reason);
          } else {
            showList(picker, body);
          }
        })
        .catch(() => {
          if (number === picker.request) {
            showText(picker, "The list could not be loaded: type the value.");
          }
        });
    }

    function loadAll() {
      if (projectPicker) {
        load(projectPicker);
      }
      pickers.filter((picker) => picker !== projectPicker).forEach((picker) => load(picker));
    }

    if (sourceSelect) {
      sourceSelect.addEventListener("change", loadAll);
    }
    if (projectSelect) {
      projectSelect.addEventListener("change", loadAll);
    }
    if (projectPicker) {
      projectPicker.input.addEventListener("change", () => pickers.filter((p) => p !== projectPicker).forEach((p) => load(p)));
    }
    loadAll();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
