// The style gallery: my uploads, the featured paintings, then every other one by artist; search and delete.
import { request, showImage } from "./api.js";

const $ = (id) => document.getElementById(id);

// Lower case without accents, so that "cezanne" finds "Cézanne" and "elysee" finds "Élysée".
export function fold(text) {
  return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}

// "Claude Monet (French, 1840–1926)" -> "Claude Monet": the life dates stay in the tooltip.
export function artistName(artist) {
  return (artist || "").split(" (")[0].trim();
}

function sectionOf(style) {
  if (style.source === "upload") return "uploads";
  return style.featured ? "featured" : "paintings";
}

export class Gallery {
  // onPick(id) toggles a style in the selection; onDeleted(id) drops it; onError(error) shows an error.
  constructor({ onPick, onDeleted, onError }) {
    this.onPick = onPick;
    this.onDeleted = onDeleted;
    this.onError = onError;
    this.styles = new Map(); // id -> style view from GET /styles
    this.query = "";
    $("gallery-search").addEventListener("input", (event) => {
      this.query = fold(event.target.value.trim());
      this.applySearch();
    });
  }

  tile(style) {
    const tile = document.createElement("div");
    tile.className = "tile";
    tile.dataset.tileFor = style.id;
    tile.dataset.search = fold(`${style.title} ${style.artist}`);
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.styleId = style.id;
    button.setAttribute("aria-pressed", "false");
    // The full title and artist on hover: the caption is cut to two lines.
    button.title = style.artist ? `${style.title} — ${style.artist}` : style.title;
    const image = document.createElement("img");
    image.alt = style.title;
    image.loading = "lazy";
    showImage(image, style.image_url);
    const caption = document.createElement("span");
    caption.className = "caption";
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = style.title;
    caption.append(title);
    if (style.artist) {
      const artist = document.createElement("span");
      artist.className = "artist";
      artist.textContent = artistName(style.artist);
      caption.append(artist);
    }
    button.append(image, caption);
    button.addEventListener("click", () => this.onPick(style.id));
    tile.append(button);
    if (style.source === "upload") {
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "delete-style";
      remove.textContent = "✕";
      remove.title = "Delete this upload";
      remove.setAttribute("aria-label", `Delete ${style.title}`);
      remove.addEventListener("click", () => this.remove(style.id));
      tile.append(remove);
    }
    return tile;
  }

  // Adds a style to its section: uploads go first (newest first), the gallery keeps the server's order.
  add(style, { first = false } = {}) {
    if (this.styles.has(style.id)) return this.tileOf(style.id);
    this.styles.set(style.id, style);
    const grid = $(`${sectionOf(style)}-grid`);
    const tile = this.tile(style);
    if (first) grid.prepend(tile);
    else grid.append(tile);
    this.applySearch();
    return tile;
  }

  tileOf(id) {
    return document.querySelector(`#gallery .tile[data-tile-for="${CSS.escape(id)}"]`);
  }

  // The listing from GET /styles; an upload that finished before it arrived is kept.
  load(styles) {
    const listed = new Set(styles.map((style) => style.id));
    const early = [...this.styles.values()].filter((style) => !listed.has(style.id));
    this.styles.clear();
    for (const section of ["uploads", "featured", "paintings"]) $(`${section}-grid`).textContent = "";
    for (const style of early) this.add(style);
    for (const style of styles) this.add(style);
    this.applySearch();
  }

  async remove(id) {
    const style = this.styles.get(id);
    try {
      await request(`/styles/${encodeURIComponent(id)}`, { method: "DELETE" });
    } catch (error) {
      // Already gone (another tab, or expired): the tile goes all the same.
      if (!(error && error.status === 404)) {
        this.onError(error);
        return;
      }
    }
    this.styles.delete(id);
    const tile = this.tileOf(id);
    if (tile) tile.remove();
    this.onDeleted(id, style);
    this.applySearch();
  }

  applySearch() {
    const query = this.query;
    let shown = 0;
    for (const section of ["uploads", "featured", "paintings"]) {
      let visible = 0;
      for (const tile of $(`${section}-grid`).querySelectorAll(".tile")) {
        const match = !query || tile.dataset.search.includes(query);
        tile.classList.toggle("hidden", !match);
        if (match) visible += 1;
      }
      $(`${section}-section`).classList.toggle("hidden", visible === 0);
      shown += visible;
    }
    const empty = $("gallery-empty");
    if (shown === 0) {
      empty.textContent = query ? `No painting matches “${$("gallery-search").value.trim()}”.` : "No styles yet: upload one.";
    }
    empty.classList.toggle("hidden", shown > 0);
  }

  markSelected(selectedIds) {
    document.querySelectorAll("#gallery button[data-style-id]").forEach((button) => {
      const k = selectedIds.indexOf(button.dataset.styleId);
      button.setAttribute("aria-pressed", String(k >= 0));
      button.dataset.order = k >= 0 ? String(k + 1) : "";
    });
  }
}
