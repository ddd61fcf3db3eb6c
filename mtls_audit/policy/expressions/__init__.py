"""C# expressions: their parser, symbolic values, and formulas over certificate atoms."""
