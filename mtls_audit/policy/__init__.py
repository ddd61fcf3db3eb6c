"""The APIM policy language, stage by stage: parsing, C# expressions, effective policy,
inbound decision, disclosure."""
