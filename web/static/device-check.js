// The device check before a remote consultation: shows the camera, measures the microphone,
// plays a test tone, and says in plain words what to do when something fails.
(() => {
  'use strict';
  const root = document.getElementById('device-check');
  if (!root) return;
  root.hidden = false;
  const text = (key) => root.dataset['t' + key] || '';
  const $ = (id) => document.getElementById(id);
  const state = { camera: 'pending', microphone: 'pending', error: null };
  // What a test (or a help-desk operator reading the console) can see.
  window.madoguchiDeviceCheck = state;

  function result(ready, message) {
    const box = $('dc-result');
    box.className = ready ? 'alert alert-success' : 'alert alert-warning';
    $('dc-result-text').textContent = message;
  }

  // The browser's error names, in words a resident can act on.
  function explain(error) {
    switch (error && error.name) {
      case 'NotAllowedError':
      case 'SecurityError':
        return text('Blocked');
      case 'NotFoundError':
      case 'OverconstrainedError':
        return text('NotFound');
      case 'NotReadableError':
      case 'AbortError':
        return text('Busy');
      default:
        return text('Other');
    }
  }

  function listen(stream) {
    const AudioContext = window.AudioContext || window.webkitAudioContext;
    if (!AudioContext) return;
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 512;
    context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Uint8Array(analyser.fftSize);
    const meter = $('dc-mic-level');
    let heard = false;
    const started = Date.now();
    const tick = () => {
      analyser.getByteTimeDomainData(samples);
      let peak = 0;
      for (const s of samples) peak = Math.max(peak, Math.abs(s - 128));
      const level = Math.min(100, Math.round((peak / 128) * 100));
      meter.value = level;
      meter.textContent = String(level);
      if (level > 2 && !heard) {
        heard = true;
        state.microphone = 'ok';
        $('dc-mic-status').textContent = text('MicOk');
      } else if (!heard && Date.now() - started > 8000 && state.microphone === 'pending') {
        state.microphone = 'silent';
        $('dc-mic-status').textContent = text('MicSilent');
      }
      if (Date.now() - started < 60000) requestAnimationFrame(tick);
    };
    tick();
  }

  async function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      state.error = 'unsupported';
      result(false, text('Unsupported'));
      return;
    }
    result(false, text('Checking'));
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    } catch (error) {
      state.error = error.name || 'Error';
      state.camera = 'error';
      state.microphone = 'error';
      result(false, explain(error));
      return;
    }
    $('dc-video').srcObject = stream;
    state.camera = stream.getVideoTracks().length ? 'ok' : 'error';
    $('dc-camera-status').textContent = state.camera === 'ok' ? text('CameraOk') : text('NotFound');
    if (stream.getAudioTracks().length) listen(stream);
    else state.microphone = 'error';
    result(state.camera === 'ok' && state.microphone !== 'error', state.camera === 'ok' ? text('Ready') : text('NotReady'));
  }

  function tone() {
    const AudioContext = window.AudioContext || window.webkitAudioContext;
    if (!AudioContext) return;
    const context = new AudioContext();
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    oscillator.frequency.value = 660;
    gain.gain.value = 0.2;
    oscillator.connect(gain).connect(context.destination);
    oscillator.start();
    oscillator.stop(context.currentTime + 1);
    $('dc-speaker-status').textContent = text('TonePlayed');
  }

  $('dc-start').addEventListener('click', start);
  $('dc-speaker').addEventListener('click', tone);
})();
