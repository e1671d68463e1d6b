// The page's elements, built with text only: nothing the API returns is ever parsed as HTML.
export const $ = (id) => document.getElementById(id);

export function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

// A table body's rows, one per item, each cell the text ``cells(item)`` gives.
export function fillRows(tbodyId, items, cells) {
  $(tbodyId).replaceChildren(
    ...items.map((item) => {
      const tr = element("tr");
      for (const text of cells(item)) tr.append(element("td", text));
      return tr;
    }),
  );
}
