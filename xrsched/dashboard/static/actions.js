// Operator controls. They are only built for a role that may use them: a viewer's page has no
// action buttons at all (the server refuses the calls anyway).

import { call, can } from "./api.js";
import { h } from "./dom.js";

/** A button that calls `method(kwargs)`; null unless the session's role is at least `role`. */
export function actionButton(ctx, label, method, kwargs, { role = "operator", id, done } = {}) {
  if (!can(role)) return null;
  const button = h("button", { type: "button", class: "action", "data-method": method, id }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const result = await call(method, kwargs());
      ctx.notify(done ? done(result) : `${label}: done`, "info");
      ctx.refreshSoon();
    } catch (error) {
      ctx.notify(`${label}: ${error.message}`, "error");
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/** A small inline form (a number field and a button) that calls `method(kwargs(value))`; null
 * unless the session's role is at least `role`. */
export function numberForm(ctx, label, method, kwargs, { value = 0, min = 0, name = "amount", role = "operator" } = {}) {
  if (!can(role)) return null;
  const input = h("input", { type: "number", min, step: 1, value, name, class: "narrow", "aria-label": label });
  const button = h("button", { type: "submit", class: "action", "data-method": method }, label);
  const form = h("form", { class: "inline" }, input, button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const amount = Number.parseInt(input.value, 10);
    if (!Number.isFinite(amount) || amount < min) {
      ctx.notify(`${label}: enter a whole number of at least ${min}`, "error");
      return;
    }
    button.disabled = true;
    try {
      await call(method, kwargs(amount));
      ctx.notify(`${label}: done`, "info");
      ctx.refreshSoon();
    } catch (error) {
      ctx.notify(`${label}: ${error.message}`, "error");
    } finally {
      button.disabled = false;
    }
  });
  return form;
}
