// How a component gets its elements: the wiring (main.js, overview.js) hands it one root
// element, and the component looks up the parts it owns under that root only, by id. A part
// missing from the page is a mistake in the page, said at once, not a null found later.

/** The elements under `root` named by `ids` ({name: id}), as {name: element}; `root`
 *  itself when it bears the id. Throws when one is missing. */
export function parts(root, ids) {
  const found = {};
  for (const [name, id] of Object.entries(ids)) {
    const element = root.id === id ? root : root.querySelector(`#${id}`);
    if (!element) throw new Error(`#${id} is missing under #${root.id || root.tagName.toLowerCase()}`);
    found[name] = element;
  }
  return found;
}
