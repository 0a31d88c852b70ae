/* The admin's source form adapts to the chosen provider and auth type without a reload:
   only the provider's auth types are offered, only the credential fields of the auth type
   are shown (with the provider's labels), only the capabilities the provider implements
   are shown, the provider's defaults appear as placeholders, and a sample key is checked
   against the key pattern by the server (RE2, as links are). */
(function () {
  "use strict";

  const script = document.currentScript;
  const previewUrl = script.dataset.keyPreviewUrl;
  const adding = script.dataset.adding === "true";
  const testUnsavedUrl = script.dataset.testUnsavedUrl;

  function start() {
    const metaElement = document.getElementById("source-provider-meta");
    const form = document.getElementById("source_form");
    if (!metaElement || !form) {
      return;
    }
    const meta = JSON.parse(metaElement.textContent);
    const provider = form.querySelector("#id_provider");
    const authType = form.querySelector("#id_auth_type");
    const allProjects = form.querySelector("#id_all_projects");
    const authChoices = Array.from(authType.options).map((option) => ({ value: option.value, label: option.textContent }));
    const credentialNames = new Set();
    Object.values(meta).forEach((entry) => Object.values(entry.credentials).forEach((parts) => parts.forEach((part) => credentialNames.add(part.name))));
    const baseUrlHelpElement = document.getElementById("id_base_url_helptext");
    const baseUrlHelp = baseUrlHelpElement ? baseUrlHelpElement.textContent.trim() : "";
    const capabilityNames = ["can_read_details", "can_create_issues", "can_add_comments", "can_process_webhooks"];

    function row(name) {
      return form.querySelector(".form-row.field-" + name);
    }

    function show(name, visible) {
      const element = row(name);
      if (element) {
        element.hidden = !visible;
      }
    }

    function setHelp(name, text) {
      const field = form.querySelector("#id_" + name);
      if (!field) {
        return;
      }
      let help = document.getElementById("id_" + name + "_helptext");
      if (!help && text) {
        help = document.createElement("div");
        help.className = "help";
        help.id = "id_" + name + "_helptext";
        help.appendChild(document.createElement("div"));
        field.closest(".flex-container").after(help);
      }
      if (help) {
        help.firstElementChild.textContent = text;
        help.hidden = !text;
      }
    }

    function setLabel(name, text) {
      const label = form.querySelector("label[for=id_" + name + "]");
      if (label) {
        label.textContent = text + ":";
      }
    }

    function current() {
      return meta[provider.value];
    }

    function updateAuthTypes() {
      const entry = current();
      const allowed = entry ? entry.auth_types : [];
      const selected = authType.value;
      authType.replaceChildren(
        ...authChoices
          .filter((choice) => allowed.includes(choice.value))
          .map((choice) => new Option(choice.label, choice.value)),
      );
      authType.value = allowed.includes(selected) ? selected : allowed[0] || "";
      show("auth_type", allowed.length > 0);
    }

    function updateCredentials() {
      const entry = current();
      const parts = entry ? entry.credentials[authType.value] || [] : [];
      const wanted = new Map(parts.map((part) => [part.name, part]));
      credentialNames.forEach((name) => {
        const part = wanted.get(name);
        show("credential_" + name, Boolean(part));
        if (part) {
          setLabel("credential_" + name, part.label);
          setHelp("credential_" + name, part.help);
        }
      });
    }

    function updateCapabilities() {
      const entry = current();
      capabilityNames.forEach((name) => show(name, Boolean(entry) && entry.capabilities.includes(name)));
    }

    // A new source starts with what its provider implements switched on; the admin may untick any.
    function applyDefaultCapabilities() {
      const entry = current();
      if (!adding || !entry) {
        return;
      }
      capabilityNames.forEach((name) => {
        const box = form.querySelector("#id_" + name);
        if (box) {
          box.checked = entry.default_capabilities.includes(name);
        }
      });
    }

    function updateDefaults() {
      const entry = current() || {};
      [
        ["issue_url_template", entry.issue_url_template],
        ["create_url_template", entry.create_url_template],
        ["key_pattern", entry.key_pattern],
      ].forEach(([name, value]) => {
        const field = form.querySelector("#id_" + name);
        if (field) {
          field.placeholder = value || "";
        }
      });
      setHelp("base_url", [entry.base_url_hint, baseUrlHelp].filter(Boolean).join(" "));
    }

    function updateScope() {
      show("projects", !allProjects.checked);
    }

    let previewRequest = 0;
    function updatePreview() {
      const sample = form.querySelector("#id_key_sample");
      const pattern = form.querySelector("#id_key_pattern");
      if (!sample || !pattern) {
        return;
      }
      let output = document.getElementById("key-preview");
      if (!output) {
        output = document.createElement("p");
        output.id = "key-preview";
        output.setAttribute("aria-live", "polite");
        sample.closest(".flex-container").after(output);
      }
      const query = new URLSearchParams({ provider: provider.value, pattern: pattern.value, sample: sample.value });
      const request = ++previewRequest;
      fetch(previewUrl + "?" + query.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => response.json())
        .then((result) => {
          if (request !== previewRequest) {
            return; // an answer to an older keystroke
          }
          output.textContent = result.message;
          output.dataset.matches = result.matches === null ? "" : String(result.matches);
          output.style.color = !result.valid || result.matches === false ? "#b91c1c" : result.matches ? "#15803d" : "";
        });
    }

    function updateAll() {
      updateAuthTypes();
      updateCredentials();
      updateCapabilities();
      updateDefaults();
      updatePreview();
    }

    // "Test connection" on the add form: the typed values go to the server, which tests them and stores nothing.
    const testButton = form.querySelector("#test-connection");
    const testResult = document.getElementById("test-connection-result");
    const connection = form.querySelector("#id_base_url") && form.querySelector("#id_base_url").closest("fieldset");
    const testBlock = document.getElementById("test-unsaved-connection");
    if (connection && testBlock) {
      connection.after(testBlock); // right below the connection and credential fields
    }
    if (testButton && testResult && testUnsavedUrl) {
      testButton.addEventListener("click", () => {
        testButton.disabled = true;
        testResult.textContent = "Testing…";
        testResult.style.color = "";
        fetch(testUnsavedUrl, {
          method: "POST",
          body: new FormData(form),
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        })
          .then((response) => response.json())
          .then((result) => {
            testResult.textContent = result.message;
            testResult.dataset.ok = String(result.ok);
            testResult.style.color = result.ok ? "#15803d" : "#b91c1c";
          })
          .catch(() => {
            testResult.textContent = "The test could not be run: reload the page and try again.";
            testResult.dataset.ok = "false";
            testResult.style.color = "#b91c1c";
          })
          .finally(() => {
            testButton.disabled = false;
          });
      });
    }

    provider.addEventListener("change", updateAll);
    provider.addEventListener("change", applyDefaultCapabilities);
    authType.addEventListener("change", updateCredentials);
    allProjects.addEventListener("change", updateScope);
    ["#id_key_pattern", "#id_key_sample"].forEach((selector) => {
      const field = form.querySelector(selector);
      if (field) {
        field.addEventListener("input", updatePreview);
      }
    });
    updateAll();
    updateScope();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
