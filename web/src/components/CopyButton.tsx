import { useState } from "react";

/** A button that copies `text`, and says so (or why not) in a live region beside it. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [said, setSaid] = useState("");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setSaid("Copied");
    } catch {
      setSaid("Could not copy: select it and copy it by hand");
    }
    window.setTimeout(() => setSaid(""), 2000);
  };
  return (
    <>
      <button type="button" className="copy" onClick={() => void copy()} aria-label={label}>
        Copy
      </button>
      <span className="copied" role="status">
        {said}
      </span>
    </>
  );
}
