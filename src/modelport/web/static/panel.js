// The panel's few behaviours that HTML alone lacks: the dialog, typed confirmations,
// copy buttons and the … menus. Everything else is htmx attributes in the templates.
"use strict";

(function () {
  const modal = () => document.getElementById("modal");

  function focusables(root) {
    return Array.from(root.querySelectorAll(
      "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), " +
      "select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])"
    )).filter((el) => el.offsetParent !== null);
  }

  function focusFirstField(root) {
    const target = root.querySelector("[aria-invalid=true]") || root.querySelector("[autofocus]");
    (target || focusables(root)[0] || root).focus();
  }

  // Dialog content arrives from the server into #modal-body; show it as a modal window
  // once htmx has settled it, so that its form posts through htmx from the first keystroke.
  document.addEventListener("htmx:afterSettle", (event) => {
    const dialog = modal();
    if (event.detail.target.id === "modal-body") {
      if (!dialog.open) dialog.showModal();
      focusFirstField(dialog);
    }
  });

  // After a successful change the server asks for the window to close; focus then moves
  // to what changed (the new secret, or the notice), since the opener was replaced.
  document.addEventListener("close-modal", () => {
    const dialog = modal();
    if (dialog.open) dialog.close();
    const next = document.querySelector("[data-focus]");
    if (next) next.focus();
  });

  document.addEventListener("click", (event) => {
    const closer = event.target.closest("[data-close]");
    if (closer) closer.closest("dialog").close();
    const copier = event.target.closest("[data-copy]");
    if (copier) copy(copier);
    // Choosing a menu entry, or clicking elsewhere, closes the … menus.
    document.querySelectorAll("details.menu[open]").forEach((menu) => {
      if (!menu.contains(event.target) || event.target.closest(".menu-items button")) {
        menu.removeAttribute("open");
      }
    });
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      const menu = event.target.closest && event.target.closest("details.menu[open]");
      if (menu) {
        menu.removeAttribute("open");
        menu.querySelector("summary").focus();
      }
    }
    // Keep Tab inside an open dialog: from the last control back to the first, and back.
    const dialog = modal();
    if (event.key === "Tab" && dialog && dialog.open) {
      const items = focusables(dialog);
      if (items.length === 0) return;
      const first = items[0], last = items[items.length - 1];
      if (event.shiftKey && document.activeElement === first) {
        last.focus();
        event.preventDefault();
      } else if (!event.shiftKey && document.activeElement === last) {
        first.focus();
        event.preventDefault();
      } else if (!dialog.contains(document.activeElement)) {
        first.focus();
        event.preventDefault();
      }
    }
  });

  // A destructive action's button is enabled only once the key's name is typed exactly;
  // as soon as the typing cannot become the name, the window says so next to the field.
  document.addEventListener("input", (event) => {
    const field = event.target.closest("[data-confirm-name]");
    if (!field) return;
    const expected = field.dataset.confirmName;
    field.form.querySelector("[data-confirm-button]").disabled = field.value !== expected;
    const wrong = field.value !== "" && !expected.startsWith(field.value);
    showError(field, wrong ? field.dataset.confirmError : "");
  });

  function showError(field, message) {
    const id = field.id + "-error";
    let note = document.getElementById(id);
    if (!message) {
      if (note) note.remove();
      field.removeAttribute("aria-invalid");
      return;
    }
    if (!note) {
      note = document.createElement("p");
      note.className = "error";
      note.id = id;
      field.closest(".field").appendChild(note);
      const described = (field.getAttribute("aria-describedby") || "").split(" ");
      field.setAttribute("aria-describedby", described.concat(id).join(" ").trim());
    }
    note.textContent = message;
    field.setAttribute("aria-invalid", "true");
  }

  // Comparing takes two to four models: the button works only then.
  function updateCompare() {
    const form = document.getElementById("compare-form");
    if (!form) return;
    const ticked = form.querySelectorAll("input[name=models]:checked").length;
    form.querySelector("[data-compare-button]").disabled = ticked < 2 || ticked > 4;
  }
  document.addEventListener("change", updateCompare);
  document.addEventListener("DOMContentLoaded", updateCompare);

  function copy(button) {
    const field = document.getElementById(button.dataset.copy);
    const text = "value" in field ? field.value : field.textContent;
    const done = () => {
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = "Copy"; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      // Over plain http the Clipboard API is missing; selecting and copying still works.
      if ("select" in field) field.select();
      else window.getSelection().selectAllChildren(field);
      if (document.execCommand("copy")) done();
    }
  }
})();
