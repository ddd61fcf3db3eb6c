"""The evidence document as the reports and the audit trail both read it: its reader (what a
document says, shown safely), its schema, the template environment, and the run clock."""
