// @ts-check
/// <reference lib="dom" />
/**
 * The plan's Markdown as safe HTML: marked (GitHub-flavoured Markdown) then DOMPurify, so
 * whatever an agent put into the plan cannot run script in the learner's page. Headings move
 * down two levels to sit under the card's own `h2`; links open in a new tab without an opener.
 */
import { Marked } from "marked";
import DOMPurify from "dompurify";

const HEADING_SHIFT = 2;

const marked = new Marked({
  gfm: true,
  walkTokens(token) {
    if (token.type === "heading") {
      token.depth = Math.min(6, token.depth + HEADING_SHIFT);
    }
  },
});

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node instanceof HTMLAnchorElement) {
    node.target = "_blank";
    node.rel = "noopener noreferrer";
  }
});

/**
 * A sanitized fragment for `markdown`, ready to append.
 * @param {string} markdown
 * @returns {DocumentFragment}
 */
export function renderMarkdown(markdown) {
  const html = marked.parse(markdown, { async: false });
  return DOMPurify.sanitize(html, {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select"],
    RETURN_DOM_FRAGMENT: true,
  });
}
