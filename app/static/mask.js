// Regions painted over the photo: a brush and an eraser, or an uploaded mask; one region per colour, each
// with a style. Exported as one black-and-white PNG per style (white = that style), as the API takes masks.

// The label map's longest side: the server resizes masks to the output anyway, and a brush stroke over
// this many pixels stays cheap to repaint on every pointer move.
const MAX_SIDE = 512;
// Region k's tint (RGB), shown over the photo at TINT_ALPHA.
const TINTS = [
  [230, 80, 40], [40, 120, 230], [40, 170, 80], [200, 60, 200],
  [240, 180, 20], [20, 180, 190], [120, 80, 40], [90, 90, 90],
];
const TINT_ALPHA = 120;

export class MaskPainter {
  constructor({ onError }) {
    this.onError = onError;
    this.card = document.getElementById("regions-card");
    this.stage = document.getElementById("mask-stage");
    this.photo = document.getElementById("mask-photo");
    this.canvas = document.getElementById("mask-canvas");
    this.sizeInput = document.getElementById("brush-size");
    this.list = document.getElementById("region-list");
    this.width = 0;
    this.height = 0;
    this.labels = new Uint8Array(0); // per pixel: 0 = unpainted, k = region k (1-based)
    this.active = 1; // the region the brush paints
    this.styles = []; // the selected styles, in order
    this.assigned = []; // region k - 1 -> the index in this.styles of its style
    this.last = null; // the previous brush position while a stroke goes on
    this.wire();
  }

  wire() {
    const canvas = this.canvas;
    canvas.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      this.last = null;
      this.stroke(event);
    });
    canvas.addEventListener("pointermove", (event) => {
      if (event.buttons & 1) this.stroke(event);
    });
    const end = () => { this.last = null; };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    const showSize = () => {
      document.getElementById("brush-size-value").textContent = `${this.sizeInput.value} px`;
    };
    this.sizeInput.addEventListener("input", showSize);
    showSize();
    const feather = document.getElementById("feather");
    const showFeather = () => { document.getElementById("feather-value").textContent = `${feather.value} px`; };
    feather.addEventListener("input", showFeather);
    showFeather();
    document.getElementById("mask-clear").addEventListener("click", () => {
      this.labels.fill(0);
      this.render();
    });
    document.getElementById("mask-upload").addEventListener("change", (event) => {
      const file = event.target.files[0];
      event.target.value = "";
      if (file) this.upload(file);
    });
  }

  // A new photo: a fresh, empty label map of its shape (fitted into MAX_SIDE).
  setPhoto(url, naturalWidth, naturalHeight) {
    if (!url || !naturalWidth || !naturalHeight) {
      this.card.classList.add("hidden");
      this.width = this.height = 0;
      this.labels = new Uint8Array(0);
      return;
    }
    const scale = Math.min(1, MAX_SIDE / Math.max(naturalWidth, naturalHeight));
    this.width = Math.max(1, Math.round(naturalWidth * scale));
    this.height = Math.max(1, Math.round(naturalHeight * scale));
    this.labels = new Uint8Array(this.width * this.height);
    this.canvas.width = this.width;
    this.canvas.height = this.height;
    this.photo.src = url;
    this.card.classList.remove("hidden");
    this.render();
  }

  // The selection changed: one region per selected style (at least one), each keeping its style if it can.
  setStyles(styles) {
    const previous = this.assigned.map((index) => this.styles[index]);
    this.styles = styles.slice();
    const count = Math.max(1, styles.length);
    this.assigned = [];
    for (let k = 0; k < count; k += 1) {
      const kept = previous[k] ? styles.indexOf(previous[k]) : -1;
      this.assigned.push(kept >= 0 ? kept : Math.min(k, Math.max(0, styles.length - 1)));
    }
    // Paint of regions that no longer exist is dropped: no region without a style reaches the server.
    for (let i = 0; i < this.labels.length; i += 1) if (this.labels[i] > count) this.labels[i] = 0;
    this.active = Math.min(this.active, count);
    this.renderList();
    this.render();
  }

  renderList() {
    this.list.replaceChildren();
    this.assigned.forEach((styleIndex, k) => {
      const row = document.createElement("div");
      row.className = "region-row";
      const pick = document.createElement("label");
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "mask-region";
      radio.value = String(k + 1);
      radio.checked = this.active === k + 1;
      radio.addEventListener("change", () => { this.active = k + 1; });
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = `rgb(${TINTS[k % TINTS.length].join(",")})`;
      pick.append(radio, swatch, ` Region ${k + 1}`);
      row.append(pick);
      if (this.styles.length > 1) {
        const select = document.createElement("select");
        select.setAttribute("aria-label", `Style of region ${k + 1}`);
        select.dataset.region = String(k + 1);
        this.styles.forEach((style, index) => {
          const option = document.createElement("option");
          option.value = String(index);
          option.textContent = style.title;
          option.selected = index === styleIndex;
          select.append(option);
        });
        select.addEventListener("change", () => { this.assigned[k] = Number(select.value); });
        row.append(select);
      } else if (this.styles.length === 1) {
        const name = document.createElement("span");
        name.className = "muted";
        name.textContent = this.styles[0].title;
        row.append(name);
      }
      this.list.append(row);
    });
  }

  tool() {
    const checked = document.querySelector('input[name="mask-tool"]:checked');
    return checked ? checked.value : "brush";
  }

  // One brush stamp per radius/2 along the segment from the last position: a fast stroke leaves no gaps.
  stroke(event) {
    if (!this.width) return;
    const box = this.canvas.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * this.width;
    const y = ((event.clientY - box.top) / box.height) * this.height;
    // The size is in screen pixels, as the user sees the brush; the label map may be larger or smaller.
    const radius = Math.max(0.5, (Number(this.sizeInput.value) / 2) * (this.width / box.width));
    const value = this.tool() === "eraser" ? 0 : this.active;
    const from = this.last || { x, y };
    const steps = Math.max(1, Math.ceil(Math.hypot(x - from.x, y - from.y) / Math.max(1, radius / 2)));
    for (let s = 1; s <= steps; s += 1) {
      this.stamp(from.x + ((x - from.x) * s) / steps, from.y + ((y - from.y) * s) / steps, radius, value);
    }
    this.last = { x, y };
    this.render();
  }

  stamp(cx, cy, radius, value) {
    const x0 = Math.max(0, Math.floor(cx - radius));
    const x1 = Math.min(this.width - 1, Math.ceil(cx + radius));
    const y0 = Math.max(0, Math.floor(cy - radius));
    const y1 = Math.min(this.height - 1, Math.ceil(cy + radius));
    const r2 = radius * radius;
    for (let py = y0; py <= y1; py += 1) {
      for (let px = x0; px <= x1; px += 1) {
        const dx = px + 0.5 - cx;
        const dy = py + 0.5 - cy;
        if (dx * dx + dy * dy <= r2) this.labels[py * this.width + px] = value;
      }
    }
  }

  // The regions tinted over the photo.
  render() {
    if (!this.width) return;
    const context = this.canvas.getContext("2d");
    const image = context.createImageData(this.width, this.height);
    const pixels = image.data;
    for (let i = 0; i < this.labels.length; i += 1) {
      const label = this.labels[i];
      if (!label) continue;
      const [r, g, b] = TINTS[(label - 1) % TINTS.length];
      pixels[4 * i] = r;
      pixels[4 * i + 1] = g;
      pixels[4 * i + 2] = b;
      pixels[4 * i + 3] = TINT_ALPHA;
    }
    context.putImageData(image, 0, 0);
  }

  // An uploaded mask becomes the active region: white (luminance over half) painted, the rest not.
  async upload(file) {
    if (!this.width) return;
    let bitmap;
    try {
      bitmap = await createImageBitmap(file);
    } catch {
      this.onError(new Error(`${file.name}: not an image this browser can read`));
      return;
    }
    const ratio = bitmap.width / bitmap.height / (this.width / this.height);
    if (Math.abs(ratio - 1) > 0.02) {
      this.onError(new Error(`${file.name}: a ${bitmap.width}×${bitmap.height} mask does not have the photo's shape`));
      return;
    }
    const scratch = document.createElement("canvas");
    scratch.width = this.width;
    scratch.height = this.height;
    const context = scratch.getContext("2d");
    context.fillStyle = "black"; // transparent parts are unpainted, as the API reads them
    context.fillRect(0, 0, this.width, this.height);
    context.drawImage(bitmap, 0, 0, this.width, this.height);
    const pixels = context.getImageData(0, 0, this.width, this.height).data;
    for (let i = 0; i < this.labels.length; i += 1) {
      const luma = 0.299 * pixels[4 * i] + 0.587 * pixels[4 * i + 1] + 0.114 * pixels[4 * i + 2];
      if (luma > 127) this.labels[i] = this.active;
      else if (this.labels[i] === this.active) this.labels[i] = 0;
    }
    this.render();
  }

  painted() {
    return this.labels.some((label) => label > 0);
  }

  feather() {
    return document.getElementById("feather").value;
  }

  // One mask per style that has paint: [{style, blob}] in the order of the selection. Regions given the
  // same style are one mask.
  async masks() {
    if (!this.painted() || !this.styles.length) return [];
    const byStyle = new Map();
    this.assigned.forEach((styleIndex, k) => {
      if (!byStyle.has(styleIndex)) byStyle.set(styleIndex, []);
      byStyle.get(styleIndex).push(k + 1);
    });
    const out = [];
    for (const [styleIndex, regions] of [...byStyle.entries()].sort((a, b) => a[0] - b[0])) {
      const scratch = document.createElement("canvas");
      scratch.width = this.width;
      scratch.height = this.height;
      const context = scratch.getContext("2d");
      const image = context.createImageData(this.width, this.height);
      let any = false;
      for (let i = 0; i < this.labels.length; i += 1) {
        const on = regions.includes(this.labels[i]);
        any ||= on;
        const value = on ? 255 : 0;
        image.data[4 * i] = image.data[4 * i + 1] = image.data[4 * i + 2] = value;
        image.data[4 * i + 3] = 255;
      }
      if (!any) continue;
      context.putImageData(image, 0, 0);
      const blob = await new Promise((resolve) => scratch.toBlob(resolve, "image/png"));
      out.push({ style: this.styles[styleIndex], blob });
    }
    return out;
  }
}
