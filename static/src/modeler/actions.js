// What the owner does with the diagram on the server: save the shared draft (refused, never merged, when someone
// saved since), have it checked, publish it, start a test run. Nothing in the canvas is lost when one is refused.
import { fitDiagram } from './controls';
import { download } from './image-export';
import { debounce, getText, postJSON } from './server';

const CHECK_DELAY = 1500;

export default class Actions {
  constructor({ modeler, config, texts, status, problems, checkState, onDirty }) {
    Object.assign(this, { modeler, config, texts, status, problems, checkState, onDirty });
    this.revision = config.revision;
    this.changes = 0; // commands run since the page opened
    this.savedChanges = 0; // ... when the diagram last matched the server's copy
    this.checks = 0;
    this.scheduleCheck = debounce(() => this.check(), CHECK_DELAY);
    modeler.on('commandStack.changed', () => {
      this.changes += 1;
      this.scheduleCheck();
      this.onDirty(this.dirty);
    });
  }

  get dirty() {
    return this.changes !== this.savedChanges;
  }

  /** The diagram as it was after `changes` commands is the server's copy now. */
  markSaved(changes) {
    this.savedChanges = changes;
    this.onDirty(this.dirty);
  }

  async xml() {
    return (await this.modeler.saveXML({ format: true })).xml;
  }

  /** Open the diagram at `url` as the unchanged state of draft `revision`. */
  async open(url, revision) {
    await this.modeler.importXML(await getText(url));
    fitDiagram(this.modeler.get('canvas'));
    this.revision = revision;
    this.markSaved(this.changes);
    this.scheduleCheck();
  }

  /** Run the server's checks on the diagram as it is now and list what they find. */
  async check() {
    const number = ++this.checks;
    this.checkState.textContent = this.texts.checking;
    try {
      const { ok, body } = await postJSON(this.config.urls.check, this.config.csrf, { xml: await this.xml() });
      if (number === this.checks && ok) { this.problems.setServer(body.errors); }
    } catch {
      // the next change checks again; lint keeps working without the server
    } finally {
      if (number === this.checks) { this.checkState.textContent = ''; }
    }
  }

  /** Save the shared draft; true when it was saved. */
  async save() {
    const changes = this.changes;
    const xml = await this.xml();
    this.status.show(this.texts.saving, 'info');
    const answer = await this.post(this.config.urls.save, { xml, revision: this.revision });
    if (answer.status === 200) {
      this.revision = answer.body.revision;
      this.markSaved(changes);
      this.status.show(answer.body.message || this.texts.saved, 'success');
      this.problems.setServer(answer.body.errors);
      return true;
    }
    if (answer.status === 409) {
      this.status.show(answer.body.message, 'error', this.conflictButtons(xml, answer.body.revision || 0));
    } else {
      this.refused(answer, this.texts.network_error);
    }
    return false;
  }

  /** After a refused save: take the other owner's draft, or keep one's own work as a file first. */
  conflictButtons(mine, theirRevision) {
    return [
      this.status.button(this.texts.load_theirs, () => this.open(this.config.source_url, theirRevision)
        .then(() => this.status.clear())),
      this.status.button(this.texts.download_mine, () => download(
        new Blob([mine], { type: 'application/xml' }), `${this.config.key}-mine.bpmn`)),
    ];
  }

  /** Check and publish with the owner's note; a new version ends the draft. */
  async publish(note) {
    const changes = this.changes;
    this.status.show(this.texts.checking, 'info');
    const answer = await this.post(this.config.urls.publish, { xml: await this.xml(), note });
    if (answer.status !== 201) {
      this.refused(answer, this.texts.not_published);
      return;
    }
    this.revision = 0;
    this.markSaved(changes);
    this.problems.setServer([]);
    this.status.show(answer.body.message || this.texts.published, 'success',
      answer.body.url ? [this.status.link(this.texts.view_versions, answer.body.url)] : []);
  }

  /** Start a test run of the diagram as drawn (saving the draft first, so coming back finds it). */
  async testRun() {
    if (this.dirty && !(await this.save())) { return; }
    this.status.show(this.texts.checking, 'info');
    const answer = await this.post(this.config.urls.test_run, { xml: await this.xml() });
    if (answer.status === 201 && answer.body.url) {
      window.location.assign(answer.body.url);
    } else {
      this.refused(answer, this.texts.test_run_refused);
    }
  }

  /** Say why the server refused, and list the problems it named. */
  refused(answer, fallback) {
    this.status.show(answer.body.message || fallback, 'error');
    if (answer.body.errors) { this.problems.setServer(answer.body.errors); }
  }

  /** postJSON, with an unreachable server answered like a refusal that says so. */
  async post(url, body) {
    try {
      return await postJSON(url, this.config.csrf, body);
    } catch {
      return { status: 0, ok: false, body: { message: this.texts.network_error } };
    }
  }
}
