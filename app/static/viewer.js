// Looking at results: a lightbox with previous/next and a before/after slider against the photo, and sweep
// strips that either fit the card or scroll with visible buttons.

const $ = (id) => document.getElementById(id);

export class Lightbox {
  constructor() {
    this.dialog = $("lightbox");
    this.items = []; // [{image: <img> on the page, caption, downloadName}]
    this.index = 0;
    this.photoUrl = "";
    $("lightbox-prev").addEventListener("click", () => this.step(-1));
    $("lightbox-next").addEventListener("click", () => this.step(1));
    $("lightbox-close").addEventListener("click", () => this.dialog.close());
    $("compare-slider").addEventListener("input", () => this.setCompare(Number($("compare-slider").value)));
    this.dialog.addEventListener("keydown", (event) => {
      // The slider uses the arrow keys itself.
      if (event.target === $("compare-slider")) return;
      if (event.key === "ArrowLeft") this.step(-1);
      else if (event.key === "ArrowRight") this.step(1);
      else return;
      event.preventDefault();
    });
    $("lightbox-image").addEventListener("load", () => this.fit());
    window.addEventListener("resize", () => {
      if (this.dialog.open) this.fit();
    });
    // A click on the backdrop (outside the dialog's box) closes it, as people expect of a lightbox.
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog) this.dialog.close();
    });
  }

  // items: the result images of one job, in order; photoUrl: the photo that job stylized.
  open(items, index, photoUrl, compareAt = 0) {
    this.items = items;
    this.photoUrl = photoUrl || "";
    $("lightbox-photo").src = this.photoUrl;
    $("compare-slider").disabled = !this.photoUrl;
    this.show(index);
    this.setCompare(compareAt);
    if (!this.dialog.open) this.dialog.showModal();
    this.fit();
  }

  show(index) {
    const count = this.items.length;
    this.index = ((index % count) + count) % count;
    const item = this.items[this.index];
    const source = item.image.currentSrc || item.image.src;
    $("lightbox-image").src = source;
    $("lightbox-image").alt = item.caption;
    $("lightbox-caption").textContent = count > 1 ? `${this.index + 1} / ${count} · ${item.caption}` : item.caption;
    $("lightbox-download").href = source;
    $("lightbox-download").download = item.downloadName;
    $("lightbox-prev").disabled = count < 2;
    $("lightbox-next").disabled = count < 2;
  }

  // As large as the screen allows, small results scaled up too: that is what enlarging is for. Sized in
  // pixels, so that the photo laid over it for the before/after slider covers exactly the same box.
  fit() {
    const image = $("lightbox-image");
    if (!image.naturalWidth) return;
    const body = $("compare").parentElement;
    const gaps = 16;
    const width = body.clientWidth - $("lightbox-prev").offsetWidth - $("lightbox-next").offsetWidth - gaps;
    const height = window.innerHeight * 0.72;
    const scale = Math.min(width / image.naturalWidth, height / image.naturalHeight);
    $("compare").style.width = `${Math.floor(image.naturalWidth * scale)}px`;
    $("compare").style.height = `${Math.floor(image.naturalHeight * scale)}px`;
  }

  step(delta) {
    if (this.items.length > 1) this.show(this.index + delta);
  }

  // 0: only the result; 100: only the photo; in between the photo shows left of the line.
  setCompare(percentPhoto) {
    $("compare-slider").value = String(percentPhoto);
    $("compare-before").style.clipPath = `inset(0 ${100 - percentPhoto}% 0 0)`;
    $("compare-line").style.left = `${percentPhoto}%`;
    $("compare-line").classList.toggle("hidden", percentPhoto <= 0 || percentPhoto >= 100);
  }
}

// A sweep strip: its frames share the card's width; where they would be too small (phones, many steps) the
// strip scrolls, and then shows ‹ › buttons and a hint, so that the frames past the edge are not missed.
export function sweepStrip(strip) {
  const wrap = document.createElement("div");
  wrap.className = "strip-wrap";
  const back = document.createElement("button");
  back.type = "button";
  back.className = "strip-scroll back";
  back.textContent = "‹";
  back.setAttribute("aria-label", "Scroll the sweep back");
  const forward = document.createElement("button");
  forward.type = "button";
  forward.className = "strip-scroll forward";
  forward.textContent = "›";
  forward.setAttribute("aria-label", "Scroll the sweep forward");
  const hint = document.createElement("p");
  hint.className = "muted strip-hint";
  hint.textContent = "Scroll sideways or use ‹ › to see every frame.";
  const by = (sign) => () => strip.scrollBy({ left: sign * strip.clientWidth * 0.8, behavior: "smooth" });
  back.addEventListener("click", by(-1));
  forward.addEventListener("click", by(1));
  const update = () => {
    const overflowing = strip.scrollWidth > strip.clientWidth + 1;
    wrap.classList.toggle("overflowing", overflowing);
    back.disabled = strip.scrollLeft <= 0;
    forward.disabled = strip.scrollLeft + strip.clientWidth >= strip.scrollWidth - 1;
  };
  strip.addEventListener("scroll", update, { passive: true });
  new ResizeObserver(update).observe(strip);
  wrap.append(back, strip, forward, hint);
  return wrap;
}
