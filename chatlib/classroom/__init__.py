"""The class edition of the course: build it for students (or the teacher's key), and grade what
students hand in.

    python3 course.py release DIR [--solutions | --reveal STEP,...]
    python3 course.py grade SUBMISSIONS [--out DIR]

- ``exercises``: which file of ``mycode/`` each step's student writes, and our module it comes from;
- ``skeletons``: a student's skeleton (or the key) generated from our module, never kept by hand;
- ``notebooks``: the edition's notebooks, from the course's own, without our solutions;
- ``release``: the whole edition, in a folder; ``grading``: every submission checked, in its own process.

This package is the teacher's tool: it is not part of any edition.
"""
