// Node card, edge with its "+" button, and the small menus: the pieces React Flow renders.
import { createContext, memo, useContext, useMemo, useState } from "react";
import {
  BaseEdge,
  EdgeLabelRenderer,
  Handle,
  Position,
  getSmoothStepPath,
  type EdgeProps,
  type NodeProps,
} from "@xyflow/react";
import type { Emit, ModelEdge, ModelNode, PaletteItem } from "./types";
import { PALETTE_MIME } from "./types";

export interface CanvasApi {
  palette: PaletteItem[];
  emit: Emit;
  openEdgeMenu: (edgeId: string, clientX: number, clientY: number) => void;
}

export const CanvasContext = createContext<CanvasApi>({
  palette: [],
  emit: () => undefined,
  openEdgeMenu: () => undefined,
});

export type CardData = { node: ModelNode };
export type PlusEdgeData = { edge: ModelEdge };

function cardClass(node: ModelNode, selected: boolean): string {
  const classes = ["crm-card"];
  if (node.problems > 0) classes.push("crm-card--problem");
  else if (node.warning) classes.push("crm-card--warning");
  if (node.on_path) classes.push("crm-card--path");
  if (selected) classes.push("crm-card--selected");
  return classes.join(" ");
}

export const CardNode = memo(function CardNode({ data, selected }: NodeProps) {
  const { node } = data as CardData;
  const { emit } = useContext(CanvasContext);
  const outputs = node.role === "end" ? [] : node.outputs;
  const labelled = outputs.length > 1;
  return (
    <div className={cardClass(node, selected)} data-testid={`crm-card-${node.id}`}>
      {node.role !== "trigger" && (
        <Handle type="target" position={Position.Top} className="crm-handle crm-handle--target" />
      )}
      <div className="crm-card__head">
        <span className="crm-card__icon" aria-hidden="true">
          {node.icon}
        </span>
        <span className="crm-card__label" dir="auto" title={node.label}>
          {node.label}
        </span>
        {node.problems > 0 && (
          <span className="crm-card__badge" title={`${node.problems} problem(s)`}>
            {node.problems}
          </span>
        )}
        {node.problems === 0 && node.warning && (
          <span className="crm-card__badge crm-card__badge--warning" title="warning">
            !
          </span>
        )}
      </div>
      {node.summary && (
        <div className="crm-card__summary" dir="auto" title={node.summary}>
          {node.summary}
        </div>
      )}
      {node.counts && (
        <div className="crm-card__counts">
          <span title="entered">▶ {node.counts.entered}</span>
          <span title="waiting">⏳ {node.counts.waiting}</span>
          <span title="reached the goal">✓ {node.counts.goal}</span>
          <span title="failed">✗ {node.counts.failed}</span>
        </div>
      )}
      {node.email && (
        <div className="crm-card__counts crm-card__email" data-testid={`crm-email-${node.id}`}>
          <span title="sent">✉ {node.email.sent}</span>
          <span title="opened, of those sent">{node.email.opened}% opened</span>
          <span title="clicked, of those sent">{node.email.clicked}% clicked</span>
          <span title="unsubscribed, of those sent">{node.email.unsubscribed}% unsub.</span>
        </div>
      )}
      {labelled && (
        <div className="crm-card__outputs">
          {outputs.map((output) => (
            <span
              key={output.name}
              className={output.error ? "crm-out crm-out--error" : "crm-out"}
              dir="auto"
            >
              {output.label || output.name}
            </span>
          ))}
        </div>
      )}
      {selected && node.role !== "trigger" && (
        <button
          type="button"
          className="crm-card__delete nodrag"
          title="Delete this step"
          data-testid={`crm-delete-${node.id}`}
          onClick={(event) => {
            event.stopPropagation();
            emit({ type: "delete_nodes", nodes: [node.id] });
          }}
        >
          ×
        </button>
      )}
      {outputs.map((output, index) => (
        <Handle
          key={output.name}
          id={output.name}
          type="source"
          position={Position.Bottom}
          className={output.error ? "crm-handle crm-handle--error" : "crm-handle"}
          style={{ left: `${((index + 1) / (outputs.length + 1)) * 100}%` }}
          title={output.label || output.name}
        />
      ))}
    </div>
  );
});

export const PlusEdge = memo(function PlusEdge(props: EdgeProps) {
  const { id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, markerEnd } =
    props;
  const { edge } = props.data as PlusEdgeData;
  const { openEdgeMenu } = useContext(CanvasContext);
  const [path, labelX, labelY] = getSmoothStepPath({
    sourceX,
    sourceY,
    targetX,
    targetY,
    sourcePosition,
    targetPosition,
    borderRadius: 10,
  });
  const stroke = edge.error ? "#dc2626" : edge.on_path ? "#16a34a" : "#64748b";
  return (
    <>
      <BaseEdge
        id={id}
        path={path}
        markerEnd={markerEnd}
        interactionWidth={24}
        style={{ stroke, strokeWidth: edge.on_path ? 3 : 2 }}
      />
      <EdgeLabelRenderer>
        <div
          className="crm-edge-tools nodrag nopan"
          style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
          data-edge-id={id}
        >
          {edge.label && (
            <span className={edge.error ? "crm-edge-label crm-out--error" : "crm-edge-label"} dir="auto">
              {edge.label}
            </span>
          )}
          <button
            type="button"
            className="crm-edge-plus"
            title="Insert a step here"
            aria-label="Insert a step here"
            data-testid={`crm-plus-${id}`}
            onClick={(event) => {
              event.stopPropagation();
              openEdgeMenu(id, event.clientX, event.clientY);
            }}
          >
            +
          </button>
        </div>
      </EdgeLabelRenderer>
    </>
  );
});

const GROUPS: { category: PaletteItem["category"]; title: string }[] = [
  { category: "action", title: "Actions" },
  { category: "control", title: "Control" },
];

export function KindMenu({
  palette,
  onPick,
  onClose,
  style,
}: {
  palette: PaletteItem[];
  onPick: (kind: string) => void;
  onClose: () => void;
  style: React.CSSProperties;
}) {
  const [query, setQuery] = useState("");
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    return q
      ? palette.filter((p) => `${p.name} ${p.kind} ${p.description}`.toLowerCase().includes(q))
      : palette;
  }, [palette, query]);
  return (
    <div
      className="crm-menu nowheel"
      style={style}
      data-testid="crm-kind-menu"
      onKeyDown={(event) => {
        if (event.key === "Escape") onClose();
        // Type a few letters, press Enter: the first match is inserted.
        if (event.key === "Enter" && shown.length) onPick(shown[0].kind);
      }}
    >
      <input
        className="crm-menu__search"
        placeholder="Search steps…"
        value={query}
        autoFocus
        onChange={(event) => setQuery(event.target.value)}
      />
      {GROUPS.map((group) => {
        const items = shown.filter((p) => p.category === group.category);
        if (!items.length) return null;
        return (
          <div key={group.category}>
            <div className="crm-menu__group">{group.title}</div>
            {items.map((item) => (
              <button
                type="button"
                key={item.kind}
                className="crm-menu__item"
                title={item.description}
                data-testid={`crm-menu-${item.kind}`}
                onClick={() => onPick(item.kind)}
              >
                <span aria-hidden="true">{item.icon}</span> <span dir="auto">{item.name}</span>
              </button>
            ))}
          </div>
        );
      })}
      {!shown.length && <div className="crm-menu__empty">No step matches</div>}
    </div>
  );
}

// Open or collapsed is decided by the canvas (narrow panes start collapsed, the user's
// choice is remembered); collapsed, it is a slim strip whose "＋ Steps" opens it.
export function Palette({
  palette,
  open,
  onToggle,
}: {
  palette: PaletteItem[];
  open: boolean;
  onToggle: () => void;
}) {
  return (
    <div
      className={open ? "crm-palette" : "crm-palette crm-palette--closed"}
      data-testid="crm-palette"
      data-open={String(open)}
    >
      <button
        type="button"
        className="crm-palette__toggle"
        title={open ? "Hide the steps" : "Show the steps"}
        aria-expanded={open}
        data-testid="crm-palette-toggle"
        onClick={onToggle}
      >
        {open ? "«" : "»"}
      </button>
      {!open && (
        <button
          type="button"
          className="crm-palette__open"
          title="Show the steps"
          data-testid="crm-palette-open"
          onClick={onToggle}
        >
          + Steps
        </button>
      )}
      {open &&
        GROUPS.map((group) => (
          <div key={group.category}>
            <div className="crm-palette__group">{group.title}</div>
            {palette
              .filter((p) => p.category === group.category)
              .map((item) => (
                <div
                  key={item.kind}
                  className="crm-palette__item"
                  draggable
                  title={item.description}
                  data-testid={`crm-palette-${item.kind}`}
                  onDragStart={(event) => {
                    event.dataTransfer.setData(PALETTE_MIME, item.kind);
                    event.dataTransfer.setData("text/plain", item.kind);
                    event.dataTransfer.effectAllowed = "copy";
                  }}
                >
                  <span aria-hidden="true">{item.icon}</span> <span dir="auto">{item.name}</span>
                </div>
              ))}
          </div>
        ))}
    </div>
  );
}
