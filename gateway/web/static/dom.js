// The page's elements, built with text only: nothing the API returns is ever parsed as HTML.
export const $ = (id) => document.getElementById(id);

export function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}
