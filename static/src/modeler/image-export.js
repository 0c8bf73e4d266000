// Export the diagram as drawn: the SVG bpmn-js writes, or a PNG painted from it at twice its size (sharp in
// documents and on high-density screens).
const PNG_SCALE = 2;

/** Hand `blob` to the browser as a download called `filename`. */
export function download(blob, filename) {
  const link = Object.assign(document.createElement('a'), { href: URL.createObjectURL(blob), download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 0);
}

function svgSize(svg) {
  const root = new DOMParser().parseFromString(svg, 'image/svg+xml').documentElement;
  return { width: parseFloat(root.getAttribute('width')), height: parseFloat(root.getAttribute('height')) };
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error('the diagram could not be drawn as an image'));
    image.src = url;
  });
}

async function pngOf(svg) {
  const { width, height } = svgSize(svg);
  const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  try {
    const image = await loadImage(url);
    const canvas = Object.assign(document.createElement('canvas'),
      { width: width * PNG_SCALE, height: height * PNG_SCALE });
    const context = canvas.getContext('2d');
    context.fillStyle = '#fff'; // transparent PNGs look black in some viewers
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    return await new Promise((resolve) => { canvas.toBlob(resolve, 'image/png'); });
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** Download the diagram as `<name>.svg`. */
export async function exportSVG(modeler, name) {
  const { svg } = await modeler.saveSVG();
  download(new Blob([svg], { type: 'image/svg+xml' }), `${name}.svg`);
}

/** Download the diagram as `<name>.png`. */
export async function exportPNG(modeler, name) {
  const { svg } = await modeler.saveSVG();
  download(await pngOf(svg), `${name}.png`);
}
