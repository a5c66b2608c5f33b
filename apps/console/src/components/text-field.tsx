/** A labelled input whose error (from the API, or the form's own check) is shown beside it and announced with it. */
export function TextField(props: { label: string; name: string; value: string; error?: string; placeholder?: string; type?: string; required?: boolean; onInput(value: string): void }) {
  const errorId = `${props.name}-error`;
  return (
    <label>
      {props.label}
      <input
        name={props.name}
        type={props.type ?? 'text'}
        step={props.type === 'number' ? 'any' : undefined}
        value={props.value}
        placeholder={props.placeholder}
        required={props.required}
        onInput={(event) => props.onInput(event.currentTarget.value)}
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={props.error ? errorId : undefined}
      />
      {props.error && <small id={errorId}>{props.error}</small>}
    </label>
  );
}
