import { type SubmitEvent, useCallback, useState } from "react";
import { fieldMessage, unwrap } from "../api/client";
import { useApi, useAuth } from "../app/auth";
import { ErrorAlert } from "../components/ErrorAlert";
import { Field } from "../components/Field";
import { PageHeader } from "../components/Page";
import { useAction } from "../lib/hooks";

/** Shown to signed-in users who belong to no organisation yet. */
export function NoOrganizationPage() {
  const api = useApi();
  const { refresh, selectOrg } = useAuth();
  const [name, setName] = useState("");

  const create = useAction(
    useCallback(
      async (orgName: string) => {
        const org = await unwrap(api.POST("/api/v1/organizations", { body: { name: orgName } }));
        selectOrg(org.id);
        await refresh();
      },
      [api, refresh, selectOrg],
    ),
  );

  function onSubmit(event: SubmitEvent) {
    event.preventDefault();
    if (name.trim()) void create.run(name.trim());
  }

  const fieldError = create.error?.field === "name" ? fieldMessage(create.error) : null;
  return (
    <section className="page page-narrow">
      <PageHeader title="No organisation yet" />
      <p>
        You are not a member of any organisation. Open the invitation link an admin sent you, or create an
        organisation of your own.
      </p>
      <form className="card form" onSubmit={onSubmit} noValidate>
        <h2>Create an organisation</h2>
        <Field label="Organisation name" error={fieldError}>
          <input
            className="input"
            value={name}
            required
            maxLength={200}
            onChange={(event) => {
              setName(event.target.value);
            }}
          />
        </Field>
        {fieldError ? null : <ErrorAlert error={create.error} title="Could not create the organisation." />}
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={create.busy || !name.trim()}>
            {create.busy ? "Creating…" : "Create organisation"}
          </button>
        </div>
      </form>
    </section>
  );
}
