"""The planning layer: what the music must be before a model writes it. Today: the user's rules
(rules), the constraint masks both samplers share (constraints), and planned cadences
(cadences). Form, keys and returning themes come with the planning issue."""
