// @ts-check
/// <reference lib="dom" />
/** Small DOM helpers: lookups that fail loudly, elements from data, busy buttons, messages. */

/**
 * The element with `id`; throws when the page lacks it (a broken page, not a user error).
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @returns {T}
 */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`The page has no #${id}.`);
  return /** @type {T} */ (element);
}

/**
 * A new element with text or children. Text is always set as text, never parsed as HTML.
 * @param {string} tag
 * @param {{ className?: string, text?: string, attrs?: Record<string, string> }} [props]
 * @param {(Node | string)[]} [children]
 */
export function h(tag, props = {}, children = []) {
  const element = document.createElement(tag);
  if (props.className) element.className = props.className;
  if (props.text !== undefined) element.textContent = props.text;
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    element.setAttribute(name, value);
  }
  element.append(...children);
  return element;
}

/**
 * The `.form-error` (or `.form-ok`) paragraph inside `container`.
 * @param {Element} container
 * @param {string} [selector]
 * @returns {HTMLElement}
 */
function messageOf(container, selector = ".form-error") {
  const element = container.querySelector(selector);
  if (!(element instanceof HTMLElement)) {
    throw new Error(`No ${selector} in #${container.id}.`);
  }
  return element;
}

/** Shows `text` in the container's error line (a live `role="alert"`). */
export function showError(
  /** @type {Element} */ container,
  /** @type {string} */ text,
) {
  const element = messageOf(container);
  element.textContent = text;
  element.hidden = false;
}

/** Shows `text` in the container's confirmation line (`role="status"`). */
export function showOk(
  /** @type {Element} */ container,
  /** @type {string} */ text,
) {
  const element = messageOf(container, ".form-ok");
  element.textContent = text;
  element.hidden = false;
}

/** Hides the container's error and confirmation lines and clears invalid marks. */
export function clearMessages(/** @type {Element} */ container) {
  for (const element of container.querySelectorAll(".form-error, .form-ok")) {
    if (element instanceof HTMLElement) element.hidden = true;
  }
  for (const field of container.querySelectorAll("[aria-invalid]")) {
    field.removeAttribute("aria-invalid");
  }
}

/**
 * Runs `task` with `button` disabled and marked busy, so a double click cannot send twice.
 * @template T
 * @param {HTMLButtonElement} button
 * @param {() => Promise<T>} task
 * @returns {Promise<T>}
 */
export async function whileBusy(button, task) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await task();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}
