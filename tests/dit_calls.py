"""Building the pack's DiT objects directly: a family's joint forward over a layout, a model call's inputs."""

from pack import import_pack

pack = import_pack()
dit = pack.nodes.dit
attention_call = pack.nodes.attention_call
forwards = pack.nodes.joint_forward
joint_override = pack.nodes.joint_override
families = pack.nodes.families


def joint_forward(class_name, layout, sites=()):
    return forwards.JointForward(families.BY_CLASS[class_name], list(sites), layout)


def model_call(diffusion_model_class, attributes, x, context, base=None, **conds):
    diffusion_model = type(diffusion_model_class, (), attributes)()
    return families.ModelCall(diffusion_model, base, x, context, conds)


def layout_wrapper(base_model):
    """The APPLY_MODEL wrapper PLADIS installs on this model, bound to its family and sites."""
    target = dit.ROUTE.recognise(base_model.diffusion_model)
    return dit.JointLayoutWrapper(target.family, target.sites)
