// The study viewer: the study read over this gateway's DICOMweb with dicomweb-client (as
// OHIF's data source does) and the session as bearer; frame 1 of the first series drawn.
"use strict";

const tag = (dataset, hex) => {
  const element = dataset[hex];
  return element && element.Value ? element.Value[0] : undefined;
};

function pixels(buffer, bits, signed) {
  if (bits === 8) return new Uint8Array(buffer);
  const even = buffer.byteLength - (buffer.byteLength % 2);
  return signed ? new Int16Array(buffer, 0, even / 2) : new Uint16Array(buffer, 0, even / 2);
}

// Grey levels from the frame's own range (a full-range window), MONOCHROME1 inverted.
function draw(canvas, meta, buffer) {
  const rows = tag(meta, "00280010"), columns = tag(meta, "00280011");
  const values = pixels(buffer, tag(meta, "00280100"), tag(meta, "00280103") === 1);
  let low = Infinity, high = -Infinity;
  for (let i = 0; i < rows * columns; i++) {
    if (values[i] < low) low = values[i];
    if (values[i] > high) high = values[i];
  }
  const invert = tag(meta, "00280004") === "MONOCHROME1";
  canvas.width = columns;
  canvas.height = rows;
  canvas.style.width = canvas.style.height = "512px";
  const context = canvas.getContext("2d");
  const image = context.createImageData(columns, rows);
  const span = Math.max(high - low, 1);
  for (let i = 0; i < rows * columns; i++) {
    let grey = Math.round(((values[i] - low) / span) * 255);
    if (invert) grey = 255 - grey;
    image.data.set([grey, grey, grey, 255], i * 4);
  }
  context.putImageData(image, 0, 0);
  return { rows, columns, low, high };
}

async function showStudy() {
  const token = workspace.token();
  if (!token) throw new Error("your session is over: sign in again");
  const studyInstanceUID = document.getElementById("viewer").dataset.study;
  const dw = new DICOMwebClient.api.DICOMwebClient({
    url: location.origin + "/dicomweb", headers: { Authorization: "Bearer " + token },
  });
  const series = await dw.searchForSeries({ studyInstanceUID });
  if (series.length === 0) throw new Error("this study is not under your opened grants");
  const counts = [];
  for (const s of series) {
    const seriesInstanceUID = tag(s, "0020000E");
    const instances = await dw.searchForInstances({ studyInstanceUID, seriesInstanceUID });
    counts.push({ seriesInstanceUID, modality: tag(s, "00080060"), instances });
  }
  const first = counts[0];
  const sopInstanceUID = tag(first.instances[0], "00080018");
  const ids = { studyInstanceUID, seriesInstanceUID: first.seriesInstanceUID, sopInstanceUID };
  const [meta] = await dw.retrieveInstanceMetadata(ids);
  const [frame] = await dw.retrieveInstanceFrames({ ...ids, frameNumbers: [1] });
  const shown = draw(document.getElementById("image"), meta, frame);
  document.getElementById("summary").textContent = counts
    .map((c) => `${c.modality} series: ${c.instances.length} instances`).join(" · ");
  workspace.status(`Shown: ${first.modality} ${shown.columns}x${shown.rows}, frame 1 of `
    + `instance ${sopInstanceUID}`);
  window.viewerShown = { series: counts.length, sopInstanceUID, ...shown, at: performance.now(),
    instances: counts.reduce((n, c) => n + c.instances.length, 0) };
}

document.addEventListener("DOMContentLoaded", () => {
  showStudy().catch((error) => workspace.status("Could not show the study: " + error.message, true));
});
