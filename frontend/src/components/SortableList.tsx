// A list reordered by drag and drop (pointer, touch, or the keyboard: focus a handle, Space to
// lift, arrows to move, Space to drop) and by explicit "Move up"/"Move down" buttons.
// dnd-kit announces every move to screen readers. The parent persists the new order.
import {
  DndContext,
  KeyboardSensor,
  PointerSensor,
  closestCenter,
  useSensor,
  useSensors,
  type DragEndEvent,
} from "@dnd-kit/core";
import {
  SortableContext,
  arrayMove,
  sortableKeyboardCoordinates,
  useSortable,
  verticalListSortingStrategy,
} from "@dnd-kit/sortable";
import { CSS } from "@dnd-kit/utilities";
import type { ReactNode } from "react";

export interface SortableListProps<T> {
  items: T[];
  getId: (item: T) => number | string;
  /** What a person calls the item, for the handle's and buttons' labels. */
  getLabel: (item: T) => string;
  renderItem: (item: T, index: number) => ReactNode;
  onReorder: (items: T[]) => void;
  disabled?: boolean;
  label: string;
}

export function SortableList<T>({
  items,
  getId,
  getLabel,
  renderItem,
  onReorder,
  disabled = false,
  label,
}: SortableListProps<T>) {
  const sensors = useSensors(
    useSensor(PointerSensor, { activationConstraint: { distance: 4 } }),
    useSensor(KeyboardSensor, { coordinateGetter: sortableKeyboardCoordinates }),
  );
  const ids = items.map(getId);
  const move = (from: number, to: number) => {
    if (to < 0 || to >= items.length || from === to) return;
    onReorder(arrayMove(items, from, to));
  };
  const onDragEnd = ({ active, over }: DragEndEvent) => {
    if (!over || active.id === over.id) return;
    move(ids.indexOf(active.id), ids.indexOf(over.id));
  };
  const announcements = {
    onDragStart: ({ active }: { active: { id: number | string } }) =>
      `Picked up ${describe(active.id)}.`,
    onDragOver: ({ active, over }: { active: { id: number | string }; over: { id: number | string } | null }) =>
      over ? `${describe(active.id)} is over position ${ids.indexOf(over.id) + 1} of ${ids.length}.` : "",
    onDragEnd: ({ active, over }: { active: { id: number | string }; over: { id: number | string } | null }) =>
      over ? `${describe(active.id)} dropped at position ${ids.indexOf(over.id) + 1} of ${ids.length}.` : "",
    onDragCancel: ({ active }: { active: { id: number | string } }) =>
      `Moving ${describe(active.id)} was cancelled.`,
  };
  function describe(id: number | string): string {
    const item = items[ids.indexOf(id)];
    return item === undefined ? String(id) : getLabel(item);
  }
  return (
    <DndContext
      sensors={sensors}
      collisionDetection={closestCenter}
      onDragEnd={onDragEnd}
      accessibility={{
        announcements,
        screenReaderInstructions: {
          draggable:
            "To reorder, press Space or Enter to pick up, use the arrow keys to move, and press Space or Enter again to drop. Escape cancels.",
        },
      }}
    >
      <SortableContext items={ids} strategy={verticalListSortingStrategy} disabled={disabled}>
        <ol className="sortable-list" aria-label={label}>
          {items.map((item, index) => (
            <SortableRow
              key={getId(item)}
              id={getId(item)}
              name={getLabel(item)}
              index={index}
              count={items.length}
              disabled={disabled}
              onMove={(to) => move(index, to)}
            >
              {renderItem(item, index)}
            </SortableRow>
          ))}
        </ol>
      </SortableContext>
    </DndContext>
  );
}

function SortableRow({
  id,
  name,
  index,
  count,
  disabled,
  onMove,
  children,
}: {
  id: number | string;
  name: string;
  index: number;
  count: number;
  disabled: boolean;
  onMove: (to: number) => void;
  children: ReactNode;
}) {
  const { attributes, listeners, setNodeRef, setActivatorNodeRef, transform, transition, isDragging } =
    useSortable({ id, disabled });
  return (
    <li
      ref={setNodeRef}
      className={`sortable-item${isDragging ? " dragging" : ""}`}
      style={{ transform: CSS.Transform.toString(transform), transition }}
      data-testid="sortable-item"
    >
      {!disabled && (
        <button
          type="button"
          ref={setActivatorNodeRef}
          className="drag-handle"
          aria-label={`Drag ${name} (position ${index + 1} of ${count})`}
          {...attributes}
          {...listeners}
        >
          ⠿
        </button>
      )}
      <div className="sortable-content">{children}</div>
      {!disabled && (
        <span className="move-buttons">
          <button type="button" onClick={() => onMove(index - 1)} disabled={index === 0} aria-label={`Move ${name} up`}>
            ↑
          </button>
          <button
            type="button"
            onClick={() => onMove(index + 1)}
            disabled={index === count - 1}
            aria-label={`Move ${name} down`}
          >
            ↓
          </button>
        </span>
      )}
    </li>
  );
}
