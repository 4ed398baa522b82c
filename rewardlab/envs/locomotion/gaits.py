"""Procedural reference motions: gaits at a commanded speed and frequency, and a vertical jump.

No motion capture is needed (Peng et al. 2020 style references, built from a contact schedule):

==========  ===========================  ==========  ==================  ==========
motion      phase offsets (FR FL RR RL)  duty factor default frequency  flight
==========  ===========================  ==========  ==================  ==========
``trot``    0, 1/2, 1/2, 0               0.5         2.0 Hz              no
``walk``    0, 1/4, 1/2, 3/4             0.75        2.0 Hz              no
``pace``    0, 1/2, 0, 1/2               0.6         4.0 Hz (4.17)       no
``bound``   0, 0, 1/2, 1/2               0.6         4.0 Hz (4.17)       no
``pronk``   0, 0, 0, 0                   0.6         3.5 Hz (3.57)       ballistic hop
``jump``    all feet together            --          1.0 Hz (period 1 s) ballistic jump
==========  ===========================  ==========  ==================  ==========

(In brackets: the frequency after rounding the cycle to whole 0.02 s control periods.) Default
swing heights: 0.08 m (trot, walk), 0.05 m (pace, bound, pronk); see ``GAITS`` for why.

Leg ``l`` is at phase ``phi_l = (f t + offset_l) mod 1``; it is in stance while ``phi_l < duty``.
In stance its foot is fixed on the ground; over the swing (s = (phi_l - duty)/(1 - duty) in
[0, 1)) it moves forward along a cycloid, ``x = -L/2 + L (s - sin(2 pi s)/(2 pi))`` relative to
its nominal point, with step length ``L = v duty / f``, and rises along
``z = h (1 - cos(2 pi s))/2``; both have zero velocity at lift-off and touch-down. The root moves
at the commanded speed ``v`` along x at the body height, plus the periodic sway of a linear
inverted pendulum (LIP) over the centroid of the stance feet (the zero-moment point when they
share the load): the horizontal CoM dynamics c'' = (c - p(t)) / T_c^2, T_c = sqrt(h / g), have
the periodic solution C_n = P_n / (1 + (2 pi n f T_c)^2) in Fourier coefficients, which is what
makes a reference dynamically consistent with its contacts (the pace sways sideways over each
lateral pair, the bound surges over each end pair, the walk sways over its support triangles;
the trot's diagonal keeps its support centre under the trunk). In the pronk the root's height
follows a ballistic arc over the flight (apex g T_f^2 / 8 for flight time T_f) and dips in stance
as z = h - (v0 T_s / pi) sin(pi s), leaving and landing at v0 = g T_f / 2. The jump crouches, pushes
off with a cubic Hermite height curve, flies ballistically for ``flight_time`` and lands into a
crouch. Joint targets come from the closed-form inverse kinematics of
:mod:`rewardlab.envs.locomotion.model`.

A motion is tabulated once per cycle at the control period (:meth:`ReferenceMotion.tabulate`):
the environment indexes those arrays by ``step mod frames`` and adds the cycle displacement.
The frequency is rounded so that a cycle is a whole number of control steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rewardlab.envs.locomotion.model import LegGeometry

GRAVITY = 9.81


@dataclass(frozen=True)
class Gait:
    offsets: tuple[float, float, float, float]
    duty: float
    frequency: float
    swing_height: float = 0.08
    flight: bool = False


# Defaults a Go1-class robot (0.27 m body height, T_c = sqrt(h/g) = 0.166 s) can follow. The
# two-beat gaits whose support line passes beside the CoM (pace: one side; bound: one end) need
# a duty factor above 1/2, so that a double-support phase carries the zero-moment point across
# instead of letting it jump 0.25 m (pace) or 0.38 m (bound), and a high stride frequency, since
# the LIP sway shrinks as 1 / (1 + (2 pi n f T_c)^2): at 4 Hz and duty 0.6 its peak-to-peak is
# 1.5 cm (pace, sideways) and 2.2 cm (bound, surge), where duty 1/2 at 2 Hz (pace) or 2.5 Hz
# (bound) asks for 5.8 and 5.9 cm, more than the PD tracker can hold. The pronk's stance dip,
# v0 T_s / pi with the landing speed v0 = g T_f / 2, grows with the flight time T_f: duty 0.6 at
# 3.5 Hz gives a 0.11 s flight (1.5 cm apex) from a 2.9 cm dip. The short swings of these three
# gaits (0.1 s) use a 5 cm clearance.
GAITS: dict[str, Gait] = {
    "trot": Gait((0.0, 0.5, 0.5, 0.0), 0.5, 2.0),
    # the walk sways over its support triangles (LIP, below); at 2 Hz it follows well
    "walk": Gait((0.0, 0.25, 0.5, 0.75), 0.75, 2.0),
    "pace": Gait((0.0, 0.5, 0.0, 0.5), 0.6, 4.0, swing_height=0.05),
    "bound": Gait((0.0, 0.0, 0.5, 0.5), 0.6, 4.0, swing_height=0.05),
    "pronk": Gait((0.0, 0.0, 0.0, 0.0), 0.6, 3.5, swing_height=0.05, flight=True),
}
MOTIONS = (*GAITS, "jump")


@dataclass(frozen=True)
class ReferenceTable:
    """One cycle of a reference motion sampled at the control period.

    Arrays are indexed by frame k = 0..frames-1 (time k * dt into the cycle). Positions are in
    the world frame for a cycle that starts with the root at x = 0; cycle c is shifted by
    ``c * displacement`` along x.
    """

    dt: float
    joint_pos: np.ndarray  # (K, 12)
    joint_vel: np.ndarray  # (K, 12)
    root_pos: np.ndarray  # (K, 3)
    root_quat: np.ndarray  # (K, 4)
    root_lin_vel: np.ndarray  # (K, 3), world frame
    root_ang_vel: np.ndarray  # (K, 3)
    foot_pos: np.ndarray  # (K, 4, 3), world frame
    foot_local: np.ndarray  # (K, 4, 3), trunk frame
    contact: np.ndarray  # (K, 4) bool, the contact schedule
    displacement: float  # metres along x per cycle

    @property
    def frames(self) -> int:
        return len(self.joint_pos)


class ReferenceMotion:
    """A procedural reference motion of a quadruped with the given leg geometry.

    Args:
        legs: leg geometry (from :class:`~rewardlab.envs.locomotion.model.QuadrupedModel`).
        motion: one of ``MOTIONS``.
        speed: forward speed in m/s (gaits); must be 0 for the jump.
        frequency: cycles per second; None for the motion's default.
        body_height: root height while standing, m.
        swing_height: foot clearance at mid-swing, m; None for the gait's default.
        dt: control period, s; the cycle is rounded to whole periods.
        stance_width: extra lateral offset of the nominal foot points, m.
        crouch, flight_time: the jump's crouch depth (m) and flight time (s).
        sway: the root sways as a linear inverted pendulum over the stance feet (gaits without
            flight); False keeps it on a straight line (for ablations).
    """

    def __init__(
        self,
        legs: LegGeometry,
        motion: str = "trot",
        speed: float = 0.5,
        frequency: float | None = None,
        body_height: float = 0.27,
        swing_height: float | None = None,
        dt: float = 0.02,
        stance_width: float = 0.0,
        crouch: float = 0.07,
        flight_time: float = 0.2,
        sway: bool = True,
    ) -> None:
        if motion not in MOTIONS:
            raise ValueError(f"motion must be one of {MOTIONS}, got {motion!r}")
        if motion == "jump" and speed != 0.0:
            raise ValueError(f"the jump is vertical: speed must be 0, got {speed}")
        default_f = GAITS[motion].frequency if motion in GAITS else 1.0
        frequency = default_f if frequency is None else float(frequency)
        if not frequency > 0.0:
            raise ValueError(f"frequency must be > 0 Hz, got {frequency}")
        self.frames = max(2, int(round(1.0 / (frequency * dt))))
        self.legs = legs
        self.motion = motion
        self.speed = float(speed)
        self.dt = float(dt)
        self.period = self.frames * self.dt
        self.frequency = 1.0 / self.period
        self.body_height = float(body_height)
        if swing_height is None:
            swing_height = GAITS[motion].swing_height if motion in GAITS else 0.08
        self.swing_height = float(swing_height)
        self.crouch = float(crouch)
        self.flight_time = float(flight_time)
        # nominal foot points (trunk frame, x, y): under the hips, widened by stance_width
        lateral = legs.hip_pos[:, 1] + legs.lateral + np.sign(legs.lateral) * stance_width
        self.nominal_xy = np.stack([legs.hip_pos[:, 0], lateral], axis=1)
        self.gait = GAITS.get(motion)
        self.sway = bool(sway) and self.gait is not None and not self.gait.flight
        if self.sway:
            self._sway_series = self._lip_sway_series()
        if motion == "jump" and self.flight_time >= 0.5 * self.period:
            raise ValueError("the jump's flight_time must be under half the period")
        self.tabulate()  # fails early (ValueError) when a target is out of reach

    # ----------------------------------------------------------------- continuous time
    def leg_phase(self, t: np.ndarray) -> np.ndarray:
        """Phase in [0, 1) of each leg at times t, (..., 4)."""
        offsets = np.asarray(self.gait.offsets if self.gait else (0.0,) * 4)
        return np.mod(np.asarray(t)[..., None] * self.frequency + offsets, 1.0)

    def contact(self, t: np.ndarray) -> np.ndarray:
        """The contact schedule: True where a foot is on the ground, (..., 4)."""
        if self.motion == "jump":
            s = np.mod(np.asarray(t) * self.frequency, 1.0)
            takeoff, land = self._jump_times()
            flying = (s >= takeoff) & (s < land)
            return np.repeat(~flying[..., None], 4, axis=-1)
        return self.leg_phase(t) < self.gait.duty

    def sample(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Root position (..., 3) and world foot positions (..., 4, 3) at times t (seconds)."""
        t = np.asarray(t, dtype=np.float64)
        if self.motion == "jump":
            return self._sample_jump(t)
        gait = self.gait
        phase = self.leg_phase(t)
        step_length = self.speed * gait.duty / self.frequency
        stance = phase < gait.duty
        s_stance = phase / gait.duty
        s_swing = np.clip((phase - gait.duty) / (1.0 - gait.duty), 0.0, 1.0)
        x_rel = np.where(
            stance,
            step_length * (0.5 - s_stance),
            step_length * (-0.5 + s_swing - np.sin(2 * np.pi * s_swing) / (2 * np.pi)),
        )
        lift = np.where(stance, 0.0, self.swing_height * 0.5 * (1.0 - np.cos(2 * np.pi * s_swing)))
        root_x = self.speed * t
        root_y = np.zeros_like(t)
        root_z = np.full_like(t, self.body_height)
        if gait.flight:
            # all feet leave together: the root follows the ballistic arc of the flight ...
            flight_s = s_swing[..., 0]
            flight_t = (1.0 - gait.duty) / self.frequency
            arc = 0.5 * GRAVITY * (flight_s * flight_t) * (flight_t - flight_s * flight_t)
            # ... and dips in stance, from the landing speed v0 = g T_f / 2 down and back up to
            # the same speed at take-off: z = h - (v0 T_s / pi) sin(pi s)
            stance_t = gait.duty / self.frequency
            dip = (0.5 * GRAVITY * flight_t) * stance_t / np.pi * np.sin(np.pi * s_stance[..., 0])
            root_z = root_z + np.where(stance[..., 0], -dip, arc)
            lift = lift + np.where(stance, 0.0, arc[..., None])
        elif self.sway:
            sway = self._sway(t)
            root_x = root_x + sway[..., 0]
            root_y = sway[..., 1]
        root = np.stack([root_x, root_y, root_z], axis=-1)
        feet = np.empty((*t.shape, 4, 3))
        feet[..., 0] = (self.speed * t)[..., None] + self.nominal_xy[:, 0] + x_rel  # not swayed
        feet[..., 1] = self.nominal_xy[:, 1]
        feet[..., 2] = self.legs.foot_radius + lift
        return root, feet

    def support_centre(self, t: np.ndarray) -> np.ndarray:
        """Centroid (x, y) of the stance feet relative to the uniformly moving point (v t, 0), (..., 2).

        This is the zero-moment point when the stance feet share the load equally.
        """
        gait = self.gait
        phase = self.leg_phase(t)
        stance = phase < gait.duty
        step_length = self.speed * gait.duty / self.frequency
        points = np.empty((*phase.shape, 2))
        points[..., 0] = self.nominal_xy[:, 0] + step_length * (0.5 - phase / gait.duty)
        points[..., 1] = self.nominal_xy[:, 1]
        weight = stance / np.maximum(stance.sum(axis=-1, keepdims=True), 1)
        return np.einsum("...l,...lc->...c", weight, points)

    def _lip_sway_series(self, samples: int = 2048, harmonics: int = 128) -> np.ndarray:
        """Fourier coefficients (harmonics, 2) of the periodic linear-inverted-pendulum sway.

        With the CoM at constant height h over a zero-moment point p(t) the horizontal dynamics
        are c'' = (c - p) / T_c^2, T_c = sqrt(h / g). Its periodic solution has the Fourier
        coefficients C_n = P_n / (1 + (2 pi n f T_c)^2) of the support centre's P_n. The mean
        (n = 0) is left out: the root stays on its commanded path on average.
        """
        t = np.arange(samples) / (samples * self.frequency)
        centre = self.support_centre(t)
        spectrum = np.fft.rfft(centre, axis=0)[: harmonics + 1] / samples
        n = np.arange(len(spectrum))
        tc_sq = self.body_height / GRAVITY
        spectrum /= (1.0 + (2.0 * np.pi * n * self.frequency) ** 2 * tc_sq)[:, None]
        spectrum[0] = 0.0
        return spectrum

    def _sway(self, t: np.ndarray) -> np.ndarray:
        """The root's sway (x, y) at times t, (..., 2): the series of :meth:`_lip_sway_series`."""
        series = self._sway_series
        n = np.arange(1, len(series))
        angle = 2.0 * np.pi * self.frequency * np.asarray(t)[..., None] * n
        # real signal: c(t) = sum_n 2 Re(C_n exp(i w_n t)) for n >= 1
        return 2.0 * (np.cos(angle) @ series[1:].real - np.sin(angle) @ series[1:].imag)

    def _jump_times(self) -> tuple[float, float]:
        """Take-off and landing as fractions of the cycle."""
        takeoff = 0.45
        return takeoff, takeoff + self.flight_time / self.period

    def _sample_jump(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        period = self.period
        s = np.mod(t / period, 1.0)
        takeoff, land = self._jump_times()
        h0, low = self.body_height, self.body_height - self.crouch
        radius = self.legs.foot_radius
        # take-off with the legs extended 0.03 m below the standing height's reach
        h_to = min(h0 + 0.03, radius + 0.97 * self.legs.reach)
        v0 = 0.5 * GRAVITY * self.flight_time
        crouch_start, push_start = 0.15, 0.33
        settle = land + 0.25
        z = np.full_like(s, h0)
        down = (s >= crouch_start) & (s < push_start)
        u = (s - crouch_start) / (push_start - crouch_start)
        z = np.where(down, h0 + (low - h0) * 0.5 * (1 - np.cos(np.pi * u)), z)
        push = (s >= push_start) & (s < takeoff)
        dur = (takeoff - push_start) * period
        u = (s - push_start) / (takeoff - push_start)
        z = np.where(push, _hermite(u, low, h_to, 0.0, v0 * dur), z)
        fly = (s >= takeoff) & (s < land)
        tau = (s - takeoff) * period
        z = np.where(fly, h_to + v0 * tau - 0.5 * GRAVITY * tau**2, z)
        absorb = (s >= land) & (s < settle)
        dur = (settle - land) * period
        u = (s - land) / (settle - land)
        z = np.where(absorb, _hermite(u, h_to, low, -v0 * dur, 0.0), z)
        rise = s >= settle
        u = np.clip((s - settle) / (1.0 - settle), 0.0, 1.0)
        z = np.where(rise, low + (h0 - low) * 0.5 * (1 - np.cos(np.pi * u)), z)
        root = np.stack([np.zeros_like(z), np.zeros_like(z), z], axis=-1)
        feet = np.empty((*t.shape, 4, 3))
        feet[..., 0] = self.nominal_xy[:, 0]
        feet[..., 1] = self.nominal_xy[:, 1]
        # in flight the legs keep their take-off extension: the feet ride with the root
        feet[..., 2] = np.where(fly, z - h_to + radius, radius)[..., None]
        return root, feet

    # ----------------------------------------------------------------- tables
    def tabulate(self) -> ReferenceTable:
        """Sample one cycle at the control period; velocities by central differences."""
        if hasattr(self, "_table"):
            return self._table
        times = np.arange(self.frames) * self.dt
        eps = 1e-4
        root, feet = self.sample(times)
        local = feet - root[:, None, :]  # the trunk stays level and faces +x
        joints = self.legs.inverse(local)
        root_p, feet_p = self.sample(times + eps)
        root_m, feet_m = self.sample(times - eps)
        joints_p = self.legs.inverse(feet_p - root_p[:, None, :])
        joints_m = self.legs.inverse(feet_m - root_m[:, None, :])
        self._table = ReferenceTable(
            dt=self.dt,
            joint_pos=joints,
            joint_vel=(joints_p - joints_m) / (2 * eps),
            root_pos=root,
            root_quat=np.tile([1.0, 0.0, 0.0, 0.0], (self.frames, 1)),
            root_lin_vel=(root_p - root_m) / (2 * eps),
            root_ang_vel=np.zeros((self.frames, 3)),
            foot_pos=feet,
            foot_local=local,
            contact=self.contact(times),
            displacement=self.speed * self.period,
        )
        return self._table


def _hermite(u: np.ndarray, p0: float, p1: float, m0: float, m1: float) -> np.ndarray:
    """Cubic Hermite curve on u in [0, 1] with end values p0, p1 and end slopes m0, m1 (per u)."""
    u2, u3 = u * u, u * u * u
    return (2 * u3 - 3 * u2 + 1) * p0 + (u3 - 2 * u2 + u) * m0 + (-2 * u3 + 3 * u2) * p1 + (u3 - u2) * m1
