// Export a published diagram as a picture: any <button class="export-diagram" data-src="….bpmn"
// data-format="svg|png" data-filename="…"> renders that version offscreen and downloads it, names drawn in
// the page's language (or data-locale's).
import Viewer from 'bpmn-js/lib/Viewer';
import { MODDLE_EXTENSIONS, parse, translateNames } from './diff/names';

const PNG_SCALE = 2; // sharp on high-density screens and in printed reports
const CANVAS_LIMIT = 16384; // Chromium's largest canvas side; very wide diagrams are drawn smaller

/** The page's language as diagrams name it (`zh-Hans` on the page, `zh_Hans` in the diagram). */
function pageLocale() {
  return (document.documentElement.lang || 'en').replace('-', '_');
}

/** Draw the diagram in a viewer outside the visible page (it must be laid out to measure) and take its SVG. */
async function renderSvg(url, locale) {
  const stage = document.createElement('div');
  stage.setAttribute('aria-hidden', 'true');
  stage.style.cssText = 'position:fixed;left:-20000px;top:0;width:1600px;height:1000px;';
  document.body.append(stage);
  const viewer = new Viewer({ container: stage, moddleExtensions: MODDLE_EXTENSIONS });
  try {
    const response = await fetch(url, { credentials: 'same-origin' });
    if (!response.ok) { throw new Error(`${response.status} ${response.statusText}`); }
    const parsed = await parse(viewer, await response.text());
    translateNames(parsed.elementsById, locale);
    await viewer.importDefinitions(parsed.rootElement);
    return (await viewer.saveSVG()).svg;
  } finally {
    viewer.destroy();
    stage.remove();
  }
}

/** The SVG drawn on a white canvas at PNG_SCALE (a transparent PNG shows black in some viewers). */
async function pngOf(svg) {
  const image = new Image();
  image.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svg);
  await image.decode();
  const scale = Math.min(PNG_SCALE, CANVAS_LIMIT / Math.max(image.naturalWidth, image.naturalHeight));
  const canvas = document.createElement('canvas');
  canvas.width = Math.ceil(image.naturalWidth * scale);
  canvas.height = Math.ceil(image.naturalHeight * scale);
  const context = canvas.getContext('2d');
  context.fillStyle = '#fff';
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(image, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('PNG encoding failed'))), 'image/png');
  });
}

function save(blob, filename) {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000); // the download must have read it first
}

async function exportDiagram(button) {
  const { src, format, filename } = button.dataset;
  const svg = await renderSvg(src, button.dataset.locale || pageLocale());
  const blob = format === 'png' ? await pngOf(svg) : new Blob([svg], { type: 'image/svg+xml' });
  save(blob, filename || `diagram.${format}`);
}

document.addEventListener('click', (event) => {
  const button = event.target.closest('button.export-diagram');
  if (!button || button.disabled) { return; }
  button.disabled = true;
  exportDiagram(button)
    .then(() => { button.dataset.state = 'done'; button.removeAttribute('title'); })
    .catch((error) => { button.dataset.state = 'error'; button.title = String(error); })
    .finally(() => { button.disabled = false; });
});
