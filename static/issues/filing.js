/* Filing and linking tracker issues without leaving the page:
   - choosing another issue type reloads the form with that type's fields;
   - user fields search the tracker's accounts as you type;
   - "Link existing issue" searches the tracker as you type, and checks a typed key against the
     source's key pattern (on the server, with RE2) before anything is saved;
   - a bulk filing job's page follows its progress until every result is handled.
   Everything the tracker sends is written with textContent, never parsed as HTML. */
(function () {
  "use strict";

  const DEBOUNCE_MS = 300;
  const POLL_MS = 1000;

  function debounce(action) {
    let timer = null;
    return function (...args) {
      clearTimeout(timer);
      timer = setTimeout(() => action(...args), DEBOUNCE_MS);
    };
  }

  async function getJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) {
      throw new Error("The server answered " + response.status + ".");
    }
    return response.json();
  }

  function element(tag, properties, children) {
    const node = document.createElement(tag);
    Object.assign(node, properties || {});
    (children || []).forEach((child) => node.append(child));
    return node;
  }

  function badge(text, category) {
    return element("span", { className: "badge cat-" + (category || "unknown"), textContent: text });
  }

  /* -- issue type ------------------------------------------------------------------------ */

  /* The type the page was rendered for: the option the server marked selected, else the first. */
  function renderedValue(select) {
    const rendered = Array.from(select.options).find((option) => option.defaultSelected) || select.options[0];
    return rendered ? rendered.value : "";
  }

  function reloadOnIssueType(form) {
    const select = form.querySelector("select[name=issue_type]");
    if (!select) {
      return;
    }
    const reload = () => {
      window.location.search = form.dataset.reloadUrl + "&issue_type=" + encodeURIComponent(select.value);
    };
    select.addEventListener("change", reload);
    // A type chosen before this deferred script ran (a slow connection, a quick hand) fired its
    // change event with nobody listening: the fields shown would belong to the other type.
    if (select.value !== renderedValue(select)) {
      reload();
    }
  }

  /* -- user pickers ---------------------------------------------------------------------- */

  function userPicker(input) {
    const multiple = input.dataset.multiple === "true";
    const list = element("ul", { className: "suggestions", hidden: true });
    const status = element("span", { className: "helptext picked", role: "status" });
    input.after(list, status);

    function currentTerm() {
      return multiple ? input.value.split(",").pop().trim() : input.value.trim();
    }

    function choose(user) {
      if (multiple) {
        const chosen = input.value.split(",").slice(0, -1).map((part) => part.trim()).filter(Boolean);
        chosen.push(user.id);
        input.value = chosen.join(", ") + ", ";
      } else {
        input.value = user.id;
      }
      status.textContent = "Chosen: " + user.name;
      list.hidden = true;
      input.focus();
    }

    const search = debounce(async () => {
      const term = currentTerm();
      list.replaceChildren();
      list.hidden = true;
      if (term.length < 2) {
        return;
      }
      try {
        const found = await getJson(input.dataset.userSearch + "&q=" + encodeURIComponent(term));
        status.textContent = found.message;
        found.users.forEach((user) => {
          const button = element("button", { type: "button", className: "link", textContent: user.name });
          button.addEventListener("click", () => choose(user));
          list.append(element("li", {}, [button]));
        });
        list.hidden = found.users.length === 0;
      } catch (error) {
        status.textContent = error.message;
      }
    });
    input.addEventListener("input", search);
  }

  /* -- link existing issue --------------------------------------------------------------- */

  function issueSearch(section, form) {
    const input = section.querySelector("#search-text");
    const results = section.querySelector("#search-results");
    const message = section.querySelector("#search-message");
    const keyInput = form.querySelector("input[name=key]");

    const search = debounce(async () => {
      const text = input.value.trim();
      results.replaceChildren();
      message.textContent = text ? "Searching…" : "";
      if (!text) {
        return;
      }
      try {
        const found = await getJson(section.dataset.searchUrl + "&q=" + encodeURIComponent(text));
        if (input.value.trim() !== text) {
          return; // an answer to an older search
        }
        message.textContent = found.message;
        found.issues.forEach((issue) => {
          const link = element("button", { type: "button", textContent: "Link", className: "secondary" });
          link.addEventListener("click", () => {
            keyInput.value = issue.key;
            form.requestSubmit();
          });
          const key = issue.url
            ? element("a", { href: issue.url, target: "_blank", rel: "noopener noreferrer", textContent: issue.key })
            : element("strong", { textContent: issue.key });
          results.append(element("li", { className: "search-result" }, [
            link, " ", key, " ", issue.title, " ", badge(issue.status || issue.status_category, issue.status_category),
          ]));
        });
      } catch (error) {
        message.textContent = error.message;
      }
    });
    input.addEventListener("input", search);
    if (input.value.trim()) {
      search(); // typed before this script ran, or restored by the browser
    }
  }

  function keyCheck(form) {
    const input = form.querySelector("input[name=key]");
    const output = form.querySelector("#key-check");
    if (!input || !output) {
      return;
    }
    const check = debounce(async () => {
      const key = input.value.trim();
      output.replaceChildren();
      input.removeAttribute("aria-invalid");
      if (!key) {
        return;
      }
      try {
        const answer = await getJson(form.dataset.checkUrl + "&key=" + encodeURIComponent(key));
        if (input.value.trim() !== key) {
          return;
        }
        if (!answer.ok) {
          input.setAttribute("aria-invalid", "true");
          output.append(element("span", { className: "errorlist key-error", textContent: answer.message }));
          return;
        }
        const name = answer.url
          ? element("a", { href: answer.url, target: "_blank", rel: "noopener noreferrer", textContent: answer.key })
          : element("strong", { textContent: answer.key });
        output.append("Links ", name, answer.title ? " “" + answer.title + "”" : "", ".");
      } catch (error) {
        output.textContent = error.message;
      }
    });
    input.addEventListener("input", check);
    if (input.value.trim()) {
      check();
    }
  }

  /* -- bulk filing progress -------------------------------------------------------------- */

  function followJob(section) {
    const bar = section.querySelector("progress");
    const retry = document.getElementById("retry-form");

    function showItem(item) {
      const row = document.getElementById("item-" + item.id);
      if (!row || row.dataset.state === item.state) {
        return;
      }
      row.dataset.state = item.state;
      const keyCell = row.querySelector(".item-key");
      keyCell.replaceChildren();
      if (item.key) {
        const opens = { href: item.url, target: "_blank", rel: "noopener noreferrer" };
        keyCell.append(item.url
          ? element("a", { className: "badge", textContent: item.display_key, ...opens })
          : element("span", { className: "badge", textContent: item.display_key }));
      }
      const labels = { pending: "Waiting", filed: "Filed", failed: "Failed" };
      row.querySelector(".item-outcome").replaceChildren(
        element("span", { className: "badge state-" + item.state, textContent: labels[item.state] }), " ",
        element("span", { className: "item-error", textContent: item.error }),
        ...item.notes.map((note) => element("div", { className: "muted", textContent: note })),
      );
    }

    const problem = section.querySelector("#job-problem");

    async function poll() {
      try {
        const progress = await getJson(section.dataset.statusUrl);
        problem.textContent = "";
        bar.max = progress.total;
        bar.value = progress.filed + progress.failed;
        ["filed", "failed", "pending"].forEach((name) => {
          section.querySelector("[data-count=" + name + "]").textContent = progress[name];
        });
        progress.items.forEach(showItem);
        if (progress.done) {
          section.dataset.done = "true";
          if (retry) {
            retry.hidden = progress.failed === 0;
          }
          return;
        }
      } catch (error) {
        problem.textContent = error.message + " Trying again…";
        setTimeout(poll, POLL_MS * 5); // a passing hiccup must not stop the progress from showing
        return;
      }
      setTimeout(poll, POLL_MS);
    }

    if (section.dataset.done !== "true") {
      setTimeout(poll, POLL_MS);
    }
  }

  function start() {
    document.querySelectorAll("form[data-reload-url]").forEach(reloadOnIssueType);
    document.querySelectorAll("input[data-user-search]").forEach(userPicker);
    const linkForm = document.getElementById("link-form");
    if (linkForm) {
      keyCheck(linkForm);
      const searchSection = document.getElementById("issue-search");
      if (searchSection) {
        issueSearch(searchSection, linkForm);
      }
    }
    const job = document.getElementById("job-progress");
    if (job) {
      followJob(job);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
