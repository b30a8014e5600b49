// Pre-join: camera and microphone preview, device choice, and how to join
// (muted, camera off, or listen only with no devices at all).
import { $, el } from './util.js';

let preview = null;
let devices = { cams: [], mics: [] };
let generation = 0;
let suspended = false; // a call took over the devices: no preview until shown again

export async function listDevices() {
  try {
    const all = await navigator.mediaDevices.enumerateDevices();
    devices = {
      cams: all.filter((d) => d.kind === 'videoinput'),
      mics: all.filter((d) => d.kind === 'audioinput'),
    };
  } catch {
    devices = { cams: [], mics: [] };
  }
  return devices;
}

export function fillSelect(select, list, kind, current) {
  const opts = list.map((d, i) => el('option', { value: d.deviceId, selected: d.deviceId === current }, d.label || `${kind} ${i + 1}`));
  if (!opts.length) opts.push(el('option', { value: '' }, `No ${kind.toLowerCase()} found`));
  select.replaceChildren(...opts);
  select.disabled = !list.length;
}

export function choices() {
  const listen = $('join-listen').checked;
  return {
    listenOnly: listen || (!devices.cams.length && !devices.mics.length),
    muted: $('join-muted').checked,
    cameraOff: $('join-cam-off').checked,
    hasCamera: devices.cams.length > 0 && !listen,
    hasMic: devices.mics.length > 0 && !listen,
    videoId: $('cam-select').value || undefined,
    audioId: $('mic-select').value || undefined,
  };
}

export function constraints(c) {
  return {
    audio: c.hasMic ? (c.audioId ? { deviceId: { exact: c.audioId } } : true) : false,
    video: c.hasCamera ? { width: 640, height: 480, ...(c.videoId ? { deviceId: { exact: c.videoId } } : {}) } : false,
  };
}

export function stopPreview() {
  generation++;
  preview?.getTracks().forEach((t) => t.stop());
  preview = null;
  $('preview').srcObject = null;
}

// The preview stream for the call (the caller now owns it), or null.
export function takePreview() {
  suspended = true;
  const s = preview;
  preview = null;
  generation++;
  $('preview').srcObject = null;
  return s;
}

async function startPreview() {
  stopPreview();
  if (suspended) return;
  const gen = generation;
  const c = choices();
  const note = $('device-note');
  const renderOff = () => {
    const off = !c.hasCamera || c.cameraOff || !preview?.getVideoTracks().length;
    $('preview-off').hidden = !off;
    $('preview-off').textContent = c.listenOnly ? 'Listening only' : !c.hasCamera ? 'No camera' : 'Camera is off';
  };
  note.textContent = '';
  if (c.listenOnly) {
    note.textContent = $('join-listen').checked ? 'You will hear and see the others without sending anything.'
      : 'No camera or microphone found: you can join to listen and watch.';
    renderOff();
    return;
  }
  try {
    const s = await navigator.mediaDevices.getUserMedia(constraints(c));
    if (gen !== generation || suspended) {
      s.getTracks().forEach((t) => t.stop());
      return;
    }
    preview = s;
    $('preview').srcObject = s;
    if (!c.hasCamera) note.textContent = 'No camera found: you will join with audio only.';
    else if (!c.hasMic) note.textContent = 'No microphone found: others will not hear you.';
    // Labels appear once permission is granted.
    const before = devices.cams.length + devices.mics.length;
    await listDevices();
    if (devices.cams.length + devices.mics.length >= before) {
      fillSelect($('cam-select'), devices.cams, 'Camera', s.getVideoTracks()[0]?.getSettings().deviceId);
      fillSelect($('mic-select'), devices.mics, 'Microphone', s.getAudioTracks()[0]?.getSettings().deviceId);
    }
  } catch (e) {
    if (gen !== generation) return;
    note.textContent = `Camera or microphone unavailable (${e.name}): you can still join to listen.`;
  }
  renderOff();
}

export async function showPrejoinPanel() {
  suspended = false;
  $('prejoin').hidden = false;
  $('call').hidden = true;
  await listDevices();
  fillSelect($('cam-select'), devices.cams, 'Camera');
  fillSelect($('mic-select'), devices.mics, 'Microphone');
  const none = !devices.cams.length && !devices.mics.length;
  $('join-listen').checked ||= none;
  $('join-listen').disabled = none;
  $('join-cam-off').disabled = !devices.cams.length;
  await startPreview();
}

export function initPrejoin() {
  for (const id of ['cam-select', 'mic-select', 'join-listen']) $(id).addEventListener('change', () => {
    const listen = $('join-listen').checked;
    $('join-muted').disabled = listen;
    $('join-cam-off').disabled = listen || !devices.cams.length;
    startPreview();
  });
  $('join-cam-off').addEventListener('change', () => {
    const off = $('join-cam-off').checked;
    preview?.getVideoTracks().forEach((t) => { t.enabled = !off; });
    $('preview-off').hidden = !off && Boolean(preview?.getVideoTracks().length);
    $('preview-off').textContent = 'Camera is off';
  });
}
