// Entry point for st.components.v2: Streamlit calls the default export on mount and again
// whenever the data changes. One React root per host element keeps the React Flow
// instance (and so zoom/pan) alive across reruns instead of remounting it.
import "@xyflow/react/dist/style.css";
import "./styles.css";
import { createRoot, type Root } from "react-dom/client";
import { Canvas } from "./Canvas";
import type { CanvasEvent, Payload } from "./types";

interface Args {
  data: Payload;
  key: string;
  parentElement: HTMLElement | ShadowRoot;
  setStateValue: (name: string, value: unknown) => void;
}

interface Mounted {
  root: Root;
  host: HTMLDivElement;
  emit: (event: CanvasEvent) => void;
  setState: { current: (name: string, value: unknown) => void };
  unmountTimer: number | undefined;
}

const mounted = new WeakMap<HTMLElement | ShadowRoot, Mounted>();
let counter = 0;

export default function render(args: Args): () => void {
  performance.mark("crmflow-canvas-model");
  let entry = mounted.get(args.parentElement);
  if (!entry) {
    const host = document.createElement("div");
    host.className = "crmflow-canvas-host";
    args.parentElement.appendChild(host);
    const setState = { current: args.setStateValue };
    // seq grows strictly even within one millisecond, and across page loads.
    const emit = (event: CanvasEvent) => {
      counter = (counter + 1) % 1000;
      setState.current("event", { ...event, seq: Date.now() * 1000 + counter });
    };
    entry = { root: createRoot(host), host, emit, setState, unmountTimer: undefined };
    mounted.set(args.parentElement, entry);
  }
  // Streamlit may call the cleanup before calling us again with new data; the unmount is
  // deferred so that a re-call keeps the same React tree (and the user's view).
  window.clearTimeout(entry.unmountTimer);
  entry.unmountTimer = undefined;
  entry.setState.current = args.setStateValue;
  entry.root.render(<Canvas payload={args.data} emit={entry.emit} />);
  const parent = args.parentElement;
  const current = entry;
  return () => {
    window.clearTimeout(current.unmountTimer);
    current.unmountTimer = window.setTimeout(() => {
      if (mounted.get(parent) !== current) return;
      mounted.delete(parent);
      current.root.unmount();
      current.host.remove();
    }, 0);
  };
}
