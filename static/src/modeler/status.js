// The status line above the canvas: what the last save, publish or test run said, with its follow-up actions.
export default class Status {
  constructor(element) {
    this.element = element;
  }

  /** Show `message` as a flash of `kind` (info, success, error), followed by `extras` (links, buttons). */
  show(message, kind, extras = []) {
    this.element.className = `flash flash-${kind}`;
    this.element.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    this.element.replaceChildren(message, ...extras);
    this.element.hidden = false;
    if (kind === 'error') { this.element.scrollIntoView({ block: 'nearest' }); } // e.g. Ctrl+S far down the page
  }

  /** Hide the line (its news is no longer true). */
  clear() {
    this.element.replaceChildren();
    this.element.hidden = true;
  }

  /** A follow-up action to show beside a message. */
  button(label, onClick) {
    const button = Object.assign(document.createElement('button'), { type: 'button', textContent: label });
    button.className = 'small';
    button.addEventListener('click', onClick);
    return button;
  }

  /** A link to show beside a message. */
  link(label, href) {
    return Object.assign(document.createElement('a'), { href, textContent: label, className: 'status-link' });
  }
}
