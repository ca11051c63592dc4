"""Exception types of the package."""


class DataFormatError(ValueError):
    """A data file breaks the data contract.

    The message always names the file, and the line (1-based, counting the first
    line of the file as line 1) where one applies.

    Parameters
    ----------
    path : str or os.PathLike
        The offending file.
    reason : str
        What is wrong, in a few words.
    line : int, optional
        1-based line number in the file, when the problem is on one line.

    Examples
    --------
    >>> str(DataFormatError("train/audio/id00000001.csv", "expected 37 cells, found 12", line=5))
    'train/audio/id00000001.csv, line 5: expected 37 cells, found 12'
    """

    def __init__(self, path, reason, line=None):
        self.path = str(path)
        self.reason = reason
        self.line = line
        where = self.path if line is None else f"{self.path}, line {line}"
        super().__init__(f"{where}: {reason}")

    def __reduce__(self):  # keep path/line when pickled across joblib workers
        return (type(self), (self.path, self.reason, self.line))


class BadFileWarning(UserWarning):
    """A bad data file was skipped because the user asked to skip bad files.

    The message names the file (and line) exactly as :class:`DataFormatError` would.
    """
