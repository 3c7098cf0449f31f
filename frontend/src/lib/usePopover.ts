import {
  type Dispatch,
  type FocusEvent,
  type KeyboardEvent,
  type RefObject,
  type SetStateAction,
  useEffect,
  useRef,
  useState,
} from "react";

export interface PopoverOptions {
  /**
   * Also close on a pointer press outside the root. Blur alone misses taps on non-focusable parts
   * of the page (Safari does not even focus a button it clicks), so menus want this; default on.
   */
  closeOnPointerDownOutside?: boolean;
}

export interface Popover {
  open: boolean;
  setOpen: Dispatch<SetStateAction<boolean>>;
  toggle: () => void;
  /** The element holding both the button and its panel: what "outside" is measured against. */
  rootRef: RefObject<HTMLDivElement | null>;
  /** The disclosure button, focused again when Escape closes the panel. */
  buttonRef: RefObject<HTMLButtonElement | null>;
  /** Spread onto the root element. */
  rootProps: {
    ref: RefObject<HTMLDivElement | null>;
    onKeyDown: (event: KeyboardEvent<HTMLDivElement>) => void;
    onBlur: (event: FocusEvent<HTMLDivElement>) => void;
  };
}

/**
 * A disclosure button with a panel beside it (header menus): Escape closes it and puts focus back
 * on the button, so keyboard users are not left on a hidden element; focus or (by default) a
 * pointer press leaving the root closes it, as a menu left open behind the page would confuse.
 */
export function usePopover({ closeOnPointerDownOutside = true }: PopoverOptions = {}): Popover {
  const [open, setOpen] = useState(false);
  const rootRef = useRef<HTMLDivElement>(null);
  const buttonRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!open || !closeOnPointerDownOutside) return;
    function onPointerDown(event: PointerEvent) {
      if (rootRef.current && !rootRef.current.contains(event.target as Node)) setOpen(false);
    }
    document.addEventListener("pointerdown", onPointerDown);
    return () => {
      document.removeEventListener("pointerdown", onPointerDown);
    };
  }, [open, closeOnPointerDownOutside]);

  return {
    open,
    setOpen,
    toggle: () => {
      setOpen((v) => !v);
    },
    rootRef,
    buttonRef,
    rootProps: {
      ref: rootRef,
      onKeyDown: (event) => {
        if (event.key === "Escape" && open) {
          setOpen(false);
          buttonRef.current?.focus();
        }
      },
      onBlur: (event) => {
        if (!event.currentTarget.contains(event.relatedTarget)) setOpen(false);
      },
    },
  };
}
