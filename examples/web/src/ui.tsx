// Small pieces every page uses: a labelled field, an error line, a form whose
// submit shows a busy state.
import { useState, type FormEvent, type ReactNode } from 'react';
import { messageOf } from './api';

export function Field(props: {
  label: string;
  name: string;
  value: string;
  onChange: (value: string) => void;
  type?: string;
  autoComplete?: string;
  required?: boolean;
  min?: number;
}) {
  const id = `field-${props.name}`;
  return (
    <p className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.value}
        autoComplete={props.autoComplete}
        required={props.required ?? true}
        min={props.min}
        onChange={(e) => props.onChange(e.target.value)}
      />
    </p>
  );
}

export function ErrorLine({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {error}
    </p>
  );
}

/** A form that runs `action` on submit, shows its failure, and is busy meanwhile. */
export function ActionForm(props: {
  action: () => Promise<void>;
  submit: string;
  busy?: string;
  children: ReactNode;
  label?: string;
  className?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await props.action();
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  }
  return (
    <form onSubmit={onSubmit} aria-label={props.label} className={props.className}>
      {props.children}
      <ErrorLine error={error} />
      <button type="submit" disabled={busy}>
        {busy ? (props.busy ?? 'Working…') : props.submit}
      </button>
    </form>
  );
}

/** Runs a promise from an event handler, showing its failure instead of dropping it. */
export function useAction(): [string | null, (work: () => Promise<void>) => void] {
  const [error, setError] = useState<string | null>(null);
  const run = (work: () => Promise<void>) => {
    setError(null);
    work().catch((failure: unknown) => setError(messageOf(failure)));
  };
  return [error, run];
}
