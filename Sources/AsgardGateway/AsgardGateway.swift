// The gateway library; see Guardrails/ and Accounting/.
