// PLADIS Model Patch in the ComfyUI front end: a preset choice that fills alpha, scale and the step range with
// recommended values, and, after a run, a report of what the node patched (a warning when it patched nothing).
// Both extra widgets are front-end only: they are added after the node's own widgets and never saved into the
// workflow's widgets_values nor sent to the server.
import { app } from "../../scripts/app.js";

const NODE = "PLADISModelPatch";
const CUSTOM = "custom (keep my values)";

// Starting points: the paper's setting where it measured one (SD1.5, SDXL, the distilled SDXL models), a milder
// scale elsewhere (the paper's per-model values for Flux are not published in what could be read; the DiT and video
// families after Flux are not in the paper at all: our extension of the method). Written as JSON, so that the tests
// can read the list (tests/web_presets.py).
// prettier-ignore
export const PRESETS = {
  "SD1.5 / SDXL with CFG (paper: α 1.5, λ 2)": {"alpha": 1.5, "scale": 2.0, "start_percent": 0.0, "end_percent": 1.0},
  "SDXL Lightning / Turbo / DMD2 / Hyper, CFG 1 (paper: λ 2)": {"alpha": 1.5, "scale": 2.0, "start_percent": 0.0, "end_percent": 1.0},
  "Sparser: sparsemax (α 2, λ 2)": {"alpha": 2.0, "scale": 2.0, "start_percent": 0.0, "end_percent": 1.0},
  "Flux dev / schnell / Kontext, Chroma (start: λ 1.5)": {"alpha": 1.5, "scale": 1.5, "start_percent": 0.0, "end_percent": 1.0},
  "Flux.2 dev / Klein, LongCat-Image (our extension: λ 1.5)": {"alpha": 1.5, "scale": 1.5, "start_percent": 0.0, "end_percent": 1.0},
  "Z-Image Turbo / pixel space, Lumina 2 (our extension: λ 1.5)": {"alpha": 1.5, "scale": 1.5, "start_percent": 0.0, "end_percent": 1.0},
  "Qwen-Image, SD3, HiDream, AuraFlow (our extension: λ 1.5)": {"alpha": 1.5, "scale": 1.5, "start_percent": 0.0, "end_percent": 1.0},
  "HunyuanVideo 1.5, HunyuanImage 2.1, HunyuanVideo (our extension: λ 1.5)": {"alpha": 1.5, "scale": 1.5, "start_percent": 0.0, "end_percent": 1.0},
  "Wan 2.x, LTX-2, MiniMax H3, Kandinsky 5, Cosmos (our extension: λ 1.5)": {"alpha": 1.5, "scale": 1.5, "start_percent": 0.0, "end_percent": 1.0},
  "Other DiTs: Mochi, CogVideoX, LTXV, Anima, OmniGen2, Boogu, PixArt, HunyuanDiT, … (our extension: λ 1.5)": {"alpha": 1.5, "scale": 1.5, "start_percent": 0.0, "end_percent": 1.0},
  "Gentle (λ 1, e.g. tag-based anime SDXL)": {"alpha": 1.5, "scale": 1.0, "start_percent": 0.0, "end_percent": 1.0}
};

const WARNING_COLORS = { color: "#722", bgcolor: "#533" };
const PRESET_TOOLTIP =
  "Fills alpha, scale and the step range with a starting point for a model family (the paper's values where it " +
  "measured them). Not saved with the workflow: the values it sets are.";

function widget(node, name) {
  return node.widgets?.find((w) => w.name === name);
}

function setWidgetValue(node, name, value) {
  const w = widget(node, name);
  if (!w) return;
  w.value = value;
  w.callback?.(w.value);
}

export function applyPreset(node, presetName) {
  const preset = PRESETS[presetName];
  if (!preset) return false;
  for (const [name, value] of Object.entries(preset)) setWidgetValue(node, name, value);
  node.setDirtyCanvas?.(true, true);
  return true;
}

function percent(x) {
  return `${Math.round(x * 100)}%`;
}

export function reportText(report) {
  if (!report.patched) {
    return ["⚠ Nothing patched: the model is unchanged.", ...(report.notes ?? [])].join("\n");
  }
  const lines = [
    `${report.family}: ${report.patched} of ${report.available} ${report.architecture} layers (${report.layers})`,
    `α = ${report.alpha}   λ = ${report.scale}   steps ${percent(report.start_percent)}–${percent(report.end_percent)}`,
  ];
  if (report.kept_patches) lines.push(`kept ${report.kept_patches} earlier attention patch(es)`);
  return [...lines, ...(report.notes ?? [])].join("\n");
}

function showReport(node, report) {
  const w = widget(node, "pladis_report");
  if (w) {
    w.value = reportText(report);
    if (w.element) w.element.value = w.value;
  }
  if (!report.patched) {
    node.pladisColors ??= { color: node.color, bgcolor: node.bgcolor };
    Object.assign(node, WARNING_COLORS);
    app.extensionManager?.toast?.add?.({
      severity: "warn",
      summary: "PLADIS Model Patch",
      detail: reportText(report),
      life: 6000,
    });
  } else if (node.pladisColors) {
    Object.assign(node, node.pladisColors);
    node.pladisColors = undefined;
  }
  node.setDirtyCanvas?.(true, true);
}

// The front end gives a single-line text input no placeholder: the options carry it to the input that the Vue node
// view and the properties panel draw, and the canvas draws it, dimmed by brackets, while the value is empty.
export function showPlaceholder(widget, placeholder) {
  if (!widget || !placeholder) return;
  widget.options ??= {};
  widget.options.placeholder = placeholder;
  Object.defineProperty(widget, "_displayValue", {
    configurable: true,
    get() {
      return this.value ? String(this.value) : `(e.g. ${placeholder})`;
    },
  });
}

function addFrontEndWidgets(node, placeholders) {
  for (const [name, placeholder] of Object.entries(placeholders)) showPlaceholder(widget(node, name), placeholder);
  const preset = node.addWidget("combo", "preset", CUSTOM, (value) => applyPreset(node, value), {
    values: [CUSTOM, ...Object.keys(PRESETS)],
    serialize: false,
  });
  preset.serialize = false;
  preset.tooltip = PRESET_TOOLTIP;

  const ComfyWidgets = window.comfyAPI?.widgets?.ComfyWidgets;
  if (!ComfyWidgets) return;
  const report = ComfyWidgets.STRING(node, "pladis_report", ["STRING", { multiline: true }], app).widget;
  report.serialize = false;
  report.options.serialize = false;
  report.options.read_only = true;
  report.value = "Run the workflow to see what PLADIS patched.";
  if (report.element) {
    report.element.readOnly = true;
    report.element.value = report.value;
    report.element.style.opacity = "0.8";
  }
}

// {input name: placeholder} of the node's single-line text inputs, from its definition (/object_info).
function stringPlaceholders(nodeData) {
  const found = {};
  for (const section of ["required", "optional"]) {
    for (const [name, spec] of Object.entries(nodeData.input?.[section] ?? {})) {
      const options = spec?.[1];
      if (spec?.[0] === "STRING" && !options?.multiline && options?.placeholder) found[name] = options.placeholder;
    }
  }
  return found;
}

app.registerExtension({
  name: "pladis.ModelPatch",

  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (nodeData.name !== NODE) return;
    const placeholders = stringPlaceholders(nodeData);
    const onNodeCreated = nodeType.prototype.onNodeCreated;
    nodeType.prototype.onNodeCreated = function () {
      const result = onNodeCreated?.apply(this, arguments);
      addFrontEndWidgets(this, placeholders);
      return result;
    };
    const onExecuted = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (message) {
      onExecuted?.apply(this, arguments);
      const report = message?.pladis?.[0];
      if (report) showReport(this, report);
    };
  },

  // Restores the report when a tab is switched back or a past run is loaded.
  onNodeOutputsUpdated(outputs) {
    for (const [id, output] of Object.entries(outputs ?? {})) {
      const node = app.graph?.getNodeById?.(Number(id));
      const report = output?.pladis?.[0];
      if (node?.comfyClass === NODE && report) showReport(node, report);
    }
  },
});
