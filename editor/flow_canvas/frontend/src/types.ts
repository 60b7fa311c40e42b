// The protocol shared with editor/flow_canvas/__init__.py; the lead engineer integrates
// against these exact shapes, so change them only together with the Python side.
export type Role = "trigger" | "step" | "end";

export interface Output {
  name: string;
  label: string;
  error: boolean;
}

export interface ModelNode {
  id: string;
  label: string;
  summary: string;
  icon: string;
  kind: string;
  role: Role;
  problems: number;
  warning: boolean;
  on_path: boolean;
  selected: boolean;
  counts: { entered: number; waiting: number; goal: number; failed: number } | null;
  // Email steps, once sent: how many, and the whole-percent rates of them.
  email?: { sent: number; opened: number; clicked: number; unsubscribed: number } | null;
  position: { x: number; y: number };
  outputs: Output[];
}

export interface ModelEdge {
  id: string;
  source: string;
  output: string;
  target: string;
  label: string;
  error: boolean;
  on_path: boolean;
}

export interface PaletteItem {
  kind: string;
  icon: string;
  name: string;
  category: "action" | "control";
  description: string;
}

export interface Model {
  nodes: ModelNode[];
  edges: ModelEdge[];
  palette: PaletteItem[];
  focus: string | null;
  focus_seq: number;
  dirty: boolean;
  height: number;
}

// What Python sends as `data`: the model plus the Python key, so the stored viewport is
// keyed by something stable across page loads (the frontend key may not be).
export interface Payload {
  model: Model;
  key: string;
}

export type CanvasEvent =
  | { type: "select"; node: string | null }
  | { type: "move"; positions: Record<string, { x: number; y: number }> }
  | { type: "connect"; source: string; output: string; target: string }
  | { type: "delete_nodes"; nodes: string[] }
  | { type: "delete_edge"; source: string; output: string }
  | { type: "insert"; kind: string; source: string; output: string; target: string }
  | { type: "drop"; kind: string; position: { x: number; y: number }; after: string | null }
  | { type: "viewport"; x: number; y: number; zoom: number };

export type Emit = (event: CanvasEvent) => void;

export const CARD_WIDTH = 240;
// Label 14 px and summary 13 px: at this zoom both stay at least 12 px on screen.
export const READABLE_ZOOM = 12 / 13;
export const PALETTE_MIME = "application/x-crmflow-kind";
