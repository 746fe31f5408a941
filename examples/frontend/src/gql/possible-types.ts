
      export type PossibleTypesResultData = {
  "possibleTypes": {
    "Node": [
      "ApiToken",
      "AuditCheckpoint",
      "AuditLogEntry",
      "AuditVerificationJob",
      "Binding",
      "CreatedApiToken",
      "Flow",
      "FlowRevision",
      "Group",
      "Me",
      "Namespace",
      "Role",
      "SecretMetadata",
      "ServiceAccount",
      "Tenant",
      "User"
    ]
  }
};
      const result: PossibleTypesResultData = {
  "possibleTypes": {
    "Node": [
      "ApiToken",
      "AuditCheckpoint",
      "AuditLogEntry",
      "AuditVerificationJob",
      "Binding",
      "CreatedApiToken",
      "Flow",
      "FlowRevision",
      "Group",
      "Me",
      "Namespace",
      "Role",
      "SecretMetadata",
      "ServiceAccount",
      "Tenant",
      "User"
    ]
  }
};
      export default result;
    