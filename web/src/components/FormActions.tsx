/** The end of an edit form: its error (if any) as an alert, then Cancel and Save. */
export function FormActions({
  error,
  saving,
  canSave,
  onCancel,
}: {
  error: string | null | undefined;
  saving: boolean;
  canSave: boolean;
  onCancel: () => void;
}) {
  return (
    <>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="form-actions">
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" disabled={saving || !canSave}>
          {saving ? "Saving…" : "Save"}
        </button>
      </div>
    </>
  );
}
