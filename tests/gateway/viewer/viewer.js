// What a DICOMweb viewer does on opening a study, with dicomweb-client + dcmjs, as OHIF
// does: QIDO-RS down to the instances, WADO-RS metadata (DICOM JSON, naturalized by dcmjs),
// then the pixel data of frame 1 and the whole instance (Part 10, parsed by dcmjs).
"use strict";

function client(gateway, token) {
  return new DICOMwebClient.api.DICOMwebClient({
    url: gateway + "/dicomweb",
    headers: { Authorization: "Bearer " + token },
  });
}

const naturalize = (json) => dcmjs.data.DicomMetaDictionary.naturalizeDataset(json);

async function sha256(buffer) {
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function openStudy(gateway, token) {
  const dw = client(gateway, token);
  const studies = (await dw.searchForStudies()).map(naturalize);
  const study = studies.find((s) => s.ModalitiesInStudy === "CT");
  const studyInstanceUID = study.StudyInstanceUID;
  const series = (await dw.searchForSeries({ studyInstanceUID })).map(naturalize);
  const seriesInstanceUID = series[0].SeriesInstanceUID;
  const instances = (await dw.searchForInstances({ studyInstanceUID, seriesInstanceUID }))
    .map(naturalize);
  const metadata = (await dw.retrieveStudyMetadata({ studyInstanceUID })).map(naturalize);
  const first = metadata.find((m) => m.SOPInstanceUID === instances[0].SOPInstanceUID);
  const sopInstanceUID = first.SOPInstanceUID;
  const frames = await dw.retrieveInstanceFrames({
    studyInstanceUID, seriesInstanceUID, sopInstanceUID, frameNumbers: [1],
  });
  // As Cornerstone's WADO-RS loader asks (OHIF's usual acceptHeader): any transfer syntax.
  const anySyntax = await dw.retrieveInstanceFrames({
    studyInstanceUID, seriesInstanceUID, sopInstanceUID, frameNumbers: [1],
    mediaTypes: [{ mediaType: "application/octet-stream", transferSyntaxUID: "*" }],
  });
  const part10 = await dw.retrieveInstance({ studyInstanceUID, seriesInstanceUID, sopInstanceUID });
  const parsed = naturalize(dcmjs.data.DicomMessage.readFile(part10).dict);
  const expectedLength = first.Rows * first.Columns * first.SamplesPerPixel
    * (first.BitsAllocated / 8);
  return {
    studies: studies.map((s) => s.StudyInstanceUID),
    study: studyInstanceUID,
    series: series.map((s) => s.SeriesInstanceUID),
    instances: instances.map((i) => i.SOPInstanceUID),
    metadataCount: metadata.length,
    // PixelData is never inline: each instance names it by BulkDataURI (…/bulkdata/7FE00010)
    metadataPixelDataInline: metadata.some((m) => m.PixelData instanceof ArrayBuffer
      || Array.isArray(m.PixelData) && m.PixelData.some((v) => v instanceof ArrayBuffer)),
    metadataPixelDataByUri: metadata.every(
      (m) => JSON.stringify(m.PixelData ?? null).includes("/bulkdata/7FE00010")),
    metadataStudyMatches: metadata.every((m) => m.StudyInstanceUID === studyInstanceUID),
    sopInstanceUID,
    rows: first.Rows,
    columns: first.Columns,
    samplesPerPixel: first.SamplesPerPixel,
    bitsAllocated: first.BitsAllocated,
    frameCount: frames.length,
    frameLength: frames[0].byteLength,
    frameLengthMatches: frames[0].byteLength === expectedLength,
    frameSha256: await sha256(frames[0]),
    anySyntaxSha256: await sha256(anySyntax[0]),
    instanceSopInstanceUID: parsed.SOPInstanceUID,
    instanceRows: parsed.Rows,
  };
}

// The status the client rejects with (0 when the browser itself refused the response).
async function failure(promise) {
  try {
    await promise;
    return { ok: true };
  } catch (error) {
    return { ok: false, status: error.status, response: error.response ?? null };
  }
}

async function studyOutsideGrant(gateway, token, studyInstanceUID) {
  const dw = client(gateway, token);
  return {
    metadata: await failure(dw.retrieveStudyMetadata({ studyInstanceUID })),
    series: (await dw.searchForSeries({ studyInstanceUID })).length,
  };
}

async function fromThisOrigin(gateway, token) {
  const search = await failure(client(gateway, token).searchForStudies());
  let fetched;
  try {
    const response = await fetch(gateway + "/dicomweb/studies", {
      headers: { Authorization: "Bearer " + token, Accept: "application/dicom+json" },
    });
    fetched = { ok: true, status: response.status };
  } catch (error) {
    fetched = { ok: false, error: error.name };
  }
  return { origin: location.origin, search, fetched };
}

// Frame 1 of a compressed instance: in its own media type, as "any transfer syntax", decoded.
async function compressedFrame(gateway, token, studyInstanceUID, seriesInstanceUID, sopInstanceUID) {
  const dw = client(gateway, token);
  const where = { studyInstanceUID, seriesInstanceUID, sopInstanceUID, frameNumbers: [1] };
  const jp2 = await dw.retrieveInstanceFrames({ ...where, mediaTypes: [{ mediaType: "image/jp2" }] });
  const anySyntax = await dw.retrieveInstanceFrames({
    ...where, mediaTypes: [{ mediaType: "application/octet-stream", transferSyntaxUID: "*" }],
  });
  const uncompressed = await dw.retrieveInstanceFrames({
    ...where,
    mediaTypes: [{ mediaType: "application/octet-stream", transferSyntaxUID: "1.2.840.10008.1.2.1" }],
  });
  return {
    count: jp2.length,
    sha256: await sha256(jp2[0]),
    anySyntaxSha256: await sha256(anySyntax[0]),
    uncompressedLength: uncompressed[0].byteLength,
    uncompressedSha256: await sha256(uncompressed[0]),
  };
}
