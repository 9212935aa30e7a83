// Sign-in: a token is exchanged for a session cookie (POST /session); the token itself is
// never stored by the page.

import { signIn } from "./api.js";
import { h, replace } from "./dom.js";

/** Render the sign-in form; calls ctx.signedIn() once the server accepted the token. */
export function renderSignIn(ctx) {
  const field = h("input", {
    type: "password", id: "token", name: "token", autocomplete: "off", required: true,
    placeholder: "SECRET or ID:SECRET", "aria-label": "Token",
  });
  const error = h("p", { class: "form-error", id: "signin-error", "aria-live": "polite" });
  const button = h("button", { type: "submit", id: "signin-submit" }, "Sign in");
  const form = h("form", { id: "signin", class: "signin" },
    h("h1", {}, "Sign in"),
    h("label", { for: "token" }, "Token"),
    field, button, error,
    h("p", { class: "hint" }, "Use a token from ", h("code", {}, "xrsched token add"),
      ". The page keeps only a session cookie, never the token."));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    replace(error, "");
    try {
      await signIn(field.value.trim());
      field.value = "";
      ctx.signedIn();
    } catch (failure) {
      replace(error, failure.message);
      button.disabled = false;
      field.select();
    }
  });
  replace(ctx.main, form);
  field.focus();
}
